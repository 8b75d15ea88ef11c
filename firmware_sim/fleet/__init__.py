"""Fleets: many simulated terminals against an acquirer host (``possim fleet``), each the
real terminal application driven by a scripted checkout instead of a host link.

- :mod:`firmware_sim.fleet.checkout`: one terminal of a fleet and its scripted checkout
- :mod:`firmware_sim.fleet.mix`: the transaction mix, read from a file
"""
