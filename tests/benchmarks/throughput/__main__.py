import sys

from tests.benchmarks.throughput.bench import main

sys.exit(main())
