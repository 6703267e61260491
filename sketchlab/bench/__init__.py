"""Benchmarks behind `sketchlab bench ...`: timings as JSON, kept out of the library packages.

The parts tests reuse live in the packages under their own names: `study.synthetic`,
`study.protocol`, `analysis.sdt_observer` and `sketchgen.raster_agreement`.
"""
