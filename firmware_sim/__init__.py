"""The simulated terminal: a pure core (state machine and decisions), the runner that owns the
port, clock and threads, peripherals, virtual cards, the built-in authorizer and the journal.

Start one with ``possim terminal`` or, from Python, :class:`firmware_sim.runner.TerminalRunner`
(``driver.testing.simulated_terminal`` wraps it for tests). Importing this package loads
nothing else, so the driver's command line stays quick to start.
"""
