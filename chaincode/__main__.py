"""``python -m chaincode``: start the chaincode-as-a-service server (configuration from the environment)."""

import sys

from chaincode.server import main

sys.exit(main())
