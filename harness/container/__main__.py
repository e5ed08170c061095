import sys

from harness.container.app_container import main

sys.exit(main())
