//! The report model and its views. Views take `&Report` and nothing else.
pub mod json;
pub mod model;
pub mod prometheus;
pub mod schema;
pub mod text;

pub use model::*;
