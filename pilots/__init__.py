"""factorypilot.pilots — pilot specs and their runtime, in rooms:

- ``spec``, ``runtime``, ``demo``, ``sectors``: the pilot spec, wiring a spec to a plant, and how sector pilots are
  found (entry-point group ``factorypilot.pilots``);
- ``<sector>/`` (``mobility``, ``healthcare``, ``robotics``, ``abb``): one package per sector pilot — spec,
  playbooks, scenarios, knowledge, plant model and extras;
- ``evaluation/``: the scenario harness, scoring, reports, plots, replay;
- ``spreading/``: templates, mapping, catalog, matching, programme KPIs;
- ``simulator/``: the testbed — OPC UA server core, faults, shards, security, alarms, MES export (no sector physics).
"""
