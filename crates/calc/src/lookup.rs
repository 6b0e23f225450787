//! LOOKUP matching: a value matches a cell when the value's words appear in the cell as
//! consecutive words, compared case-insensitively, with punctuation and blanks between words
//! ignored (`r-123` matches `R 123`, `edwards` matches `Farmer, Edwards and Andrade`). Words are
//! Unicode word segments (UAX #29), lower-cased. The first matching row in file order wins.
//!
//! [`PhraseIndex`] maps each word to the rows whose cell contains it, so a look-up probes the
//! rows holding the value's rarest word instead of scanning the dataset.

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

/// The words of a text as LOOKUP compares them.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.unicode_words().map(str::to_lowercase)
}

/// Word → rows containing it, in ascending row order.
#[derive(Debug, Default)]
pub struct PhraseIndex {
    rows_by_word: HashMap<Box<str>, Vec<u32>>,
}

impl PhraseIndex {
    /// Indexes the cells of one column, in row order.
    pub fn build<'a>(cells: impl Iterator<Item = &'a str>) -> Self {
        let mut rows_by_word: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (row, cell) in cells.enumerate() {
            let row = row as u32;
            for word in words(cell) {
                let rows = rows_by_word.entry(word.into_boxed_str()).or_default();
                // A word repeated within one cell is listed once.
                if rows.last() != Some(&row) {
                    rows.push(row);
                }
            }
        }
        for rows in rows_by_word.values_mut() {
            rows.shrink_to_fit();
        }
        PhraseIndex { rows_by_word }
    }

    /// The first row whose cell (read through `cell_of`) contains the value's words
    /// consecutively; `None` when the value has no words or no row matches.
    pub fn find<'a>(&self, value: &str, cell_of: impl Fn(usize) -> &'a str) -> Option<usize> {
        let wanted: Vec<String> = words(value).collect();
        let mut rarest: Option<&Vec<u32>> = None;
        for word in &wanted {
            let rows = self.rows_by_word.get(word.as_str())?;
            if rarest.is_none_or(|r| rows.len() < r.len()) {
                rarest = Some(rows);
            }
        }
        rarest?
            .iter()
            .map(|&row| row as usize)
            .find(|&row| contains_phrase(cell_of(row), &wanted))
    }

    /// Approximate heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.rows_by_word
            .iter()
            .map(|(word, rows)| word.len() + rows.capacity() * 4 + 48)
            .sum()
    }
}

fn contains_phrase(cell: &str, wanted: &[String]) -> bool {
    let cell_words: Vec<String> = words(cell).collect();
    cell_words
        .windows(wanted.len())
        .any(|window| window == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_match(cells: &[&str], value: &str) -> Option<usize> {
        let index = PhraseIndex::build(cells.iter().copied());
        index.find(value, |row| cells[row])
    }

    #[test]
    fn matches_words_case_and_punctuation_insensitively() {
        let cells = ["Farmer, Edwards and Andrade", "R-123", "Car Rental", "Car"];
        assert_eq!(first_match(&cells, "edwards"), Some(0));
        assert_eq!(first_match(&cells, "edwards and"), Some(0));
        assert_eq!(first_match(&cells, "and edwards"), None);
        assert_eq!(first_match(&cells, "r 123"), Some(1));
        assert_eq!(first_match(&cells, "car"), Some(2));
        assert_eq!(first_match(&cells, "CAR RENTAL"), Some(2));
        assert_eq!(first_match(&cells, "bike"), None);
        assert_eq!(first_match(&cells, "--"), None);
    }

    #[test]
    fn first_row_in_file_order_wins_even_when_rarer_words_come_later() {
        let cells = ["natural gas", "gas", "natural gas boiler", "gas"];
        assert_eq!(first_match(&cells, "gas"), Some(0));
        assert_eq!(first_match(&cells, "gas boiler"), Some(2));
    }
}
