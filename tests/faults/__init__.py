"""Bad input and hostile conditions, reproduced through the public entry points."""
