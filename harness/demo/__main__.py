import sys

from harness.demo.run import main

sys.exit(main())
