//! Scraping: fetching targets and turning their exposition bodies into samples.

pub mod parse;
