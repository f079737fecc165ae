//! The revoker Lambda: SQS FIFO batches of CloudTrail IAM events in, `SqsBatchResponse` out.

pub mod config;
pub mod handler;
