"""The demo-world package: a real package (this file), so that its package-scoped demo
world is flushed when its last test is done. Without it pytest gives "package" fixtures
session scope, and the committed demo stays under every later test on that worker."""
