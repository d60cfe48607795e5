//! Chain planner.
