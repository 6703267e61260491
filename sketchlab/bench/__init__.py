"""Benchmarks behind `sketchlab bench ...`: timings as JSON, kept out of the library packages.

The parts tests reuse live in the packages under their own names: `study.synthetic`,
`study.protocol`, `analysis.synthetic` and `sketchgen.raster_agreement`.
"""
