"""Optimizers on 2-D surfaces: the update rules, schedules, surfaces, trajectories, the race
and its figures. Live training uses its schedules."""
