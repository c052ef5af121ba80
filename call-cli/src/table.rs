//! Plain-text tables, laid out by `comfy-table`: no borders, two spaces
//! between columns, each column as wide as its widest cell, and on a
//! terminal no wider than the terminal (long cells wrap).

use comfy_table::{ContentArrangement, presets::NOTHING};

/// The narrowest terminal tables are fitted to.
const MIN_WIDTH: u16 = 20;

/// A table: a header row, then rows.
#[derive(Debug)]
pub(crate) struct Table {
    table: comfy_table::Table,
}

impl Table {
    pub(crate) fn new(header: &[&'static str]) -> Table {
        let mut table = comfy_table::Table::new();
        table.load_style(NOTHING).set_header(header.to_vec());
        let last = header.len().saturating_sub(1);
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if i == last { 0 } else { 2 }));
        }
        Table { table }
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.table.header().map_or(0, |h| h.cell_count()));
        self.table.add_row(cells);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The table as text, no trailing blanks, each line ending in a newline;
    /// as wide as the terminal at most when standard output is one.
    pub(crate) fn render(&self) -> String {
        // A terminal that reports no width (a bare pseudo-terminal says 0)
        // gets the table unwrapped, as a pipe does.
        let width = terminal_size::terminal_size_of(std::io::stdout())
            .map(|(width, _)| width.0)
            .filter(|&width| width >= MIN_WIDTH);
        self.render_within(width)
    }

    /// The table as text, at most `width` columns wide when given.
    fn render_within(&self, width: Option<u16>) -> String {
        let mut table = self.table.clone();
        if let Some(width) = width {
            table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic);
        }
        let mut out = String::new();
        for line in table.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let mut table = Table::new(&["ID", "STATUS"]);
        table.row(vec!["1".into(), "completed".into()]);
        table.row(vec!["22222".into(), "—".into()]);
        assert_eq!(table.render_within(None), "ID     STATUS\n1      completed\n22222  —\n");
    }

    #[test]
    fn a_table_wider_than_the_terminal_wraps_its_long_cells() {
        let mut table = Table::new(&["ID", "DETAILS"]);
        let details = "the caller asked for a supervisor and was put through to the queue";
        table.row(vec!["call-1".into(), details.into()]);
        let text = table.render_within(Some(40));
        assert!(text.lines().all(|line| line.chars().count() <= 40), "{text}");
        assert!(text.lines().count() > 2, "the long cell wraps: {text}");
        let words: Vec<&str> = text.split_whitespace().collect();
        for word in details.split(' ') {
            assert!(words.contains(&word), "{word} is kept: {text}");
        }
        assert_eq!(table.render_within(Some(200)).lines().count(), 2);
    }
}
