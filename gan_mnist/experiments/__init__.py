"""Experiments about the training core, not part of it: `bench` (speed in tutorial-loop epochs) and `leaderboard`
(docs/recipes.md's named recipes at one budget)."""
