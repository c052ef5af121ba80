//! Runnable programs that embed callwork: see the `examples/` folder of this package.
