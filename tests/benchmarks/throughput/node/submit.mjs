// Submits a list of transactions through the official Fabric Gateway client for Node, N in flight,
// each waited for until committed; prints latencies, failures and this process's CPU time as JSON.
// Input (stdin, JSON): {peer: {endpoint, server_name, tls_ca_cert}, msp_id, cert, key, channel,
//                       chaincode, function, args: [[...], ...], concurrency}
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers } from '@hyperledger/fabric-gateway';

const job = JSON.parse(readFileSync(0, 'utf8'));
const client = new grpc.Client(job.peer.endpoint, grpc.credentials.createSsl(readFileSync(job.peer.tls_ca_cert)),
  { 'grpc.ssl_target_name_override': job.peer.server_name, 'grpc.max_concurrent_streams': 10000 });
const gateway = connect({
  client,
  identity: { mspId: job.msp_id, credentials: readFileSync(job.cert) },
  signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(job.key))),
  hash: hash.sha256,
  endorseOptions: () => ({ deadline: Date.now() + 60000 }),
  submitOptions: () => ({ deadline: Date.now() + 60000 }),
  commitStatusOptions: () => ({ deadline: Date.now() + 120000 }),
});
const contract = gateway.getNetwork(job.channel).getContract(job.chaincode);

const latencies = [];
const failures = [];
let next = 0;
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
async function worker() {
  while (next < job.args.length) {
    const args = job.args[next++];
    const start = performance.now();
    try {
      await contract.submitTransaction(job.function, ...args);
      latencies.push((performance.now() - start) / 1000);
    } catch (err) {
      failures.push(String(err && err.message ? err.message : err).slice(0, 300));
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, worker));
const wall = (performance.now() - wallStart) / 1000;
const cpu = process.cpuUsage(cpuStart);
gateway.close();
client.close();
process.stdout.write(JSON.stringify({
  latencies, failures, wall_s: wall, cpu_s: (cpu.user + cpu.system) / 1e6,
}));
