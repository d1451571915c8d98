import sys

from supervisor.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
