"""What every other package stands on: running commands, waiting, finding the tools, objects."""
