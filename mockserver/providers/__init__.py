"""One package per emulated API; each has routes, backend, render and errors modules."""
