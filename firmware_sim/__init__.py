"""The simulated terminal: a pure core (state machine and decisions), the runner that owns the
port, clock and threads, peripherals, virtual cards, the built-in authorizer and the journal.

Its contents arrive with the firmware_sim/ issue; today the package holds nothing but this
contract.
"""
