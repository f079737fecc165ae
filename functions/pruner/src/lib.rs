//! The pruner Lambda: wiring in `main.rs`, the event handling in [`handler`].

pub mod config;
pub mod handler;
