"""sketchlab: the command line that ties sketchgen, study and analysis together."""
