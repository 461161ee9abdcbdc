"""The deployment planner and allocators, as the core drives them."""
