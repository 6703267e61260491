"""The figures: one module per kind of figure (a tidy table in, a matplotlib figure out) and
`style`, the look they share. Which figures the report shows, with which data and in which
section, is `analysis.figures.FIGURES`."""
