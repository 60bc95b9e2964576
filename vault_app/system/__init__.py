"""What the operating system sees of the app: how to launch it, its menu entry and icons,
autostart at login, and the self-check. No Qt import except where icons are drawn."""
