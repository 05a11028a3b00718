"""The suite's own ground: each test's database fresh and its own, the layout's rule (test
modules import the support package, never one another), the generated photos."""
