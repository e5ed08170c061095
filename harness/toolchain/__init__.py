"""`make setup`'s installers: the pinned Go tools, the control plane, the Debian packages."""
