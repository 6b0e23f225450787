//! A byte trie giving the longest key that prefixes a text, like java.time's `PrefixTree`.

#[derive(Default)]
struct Node {
    value: Option<u16>,
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
}

pub(crate) struct Trie {
    nodes: Vec<Node>,
}

impl Default for Trie {
    fn default() -> Trie {
        Trie {
            nodes: vec![Node::default()],
        }
    }
}

impl Trie {
    /// Adds a key; a later value for the same key replaces the earlier one.
    pub fn insert(&mut self, key: &str, value: u16) {
        let mut node = 0usize;
        for &b in key.as_bytes() {
            node = match self.nodes[node].children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => self.nodes[node].children[i].1 as usize,
                Err(i) => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[node].children.insert(i, (b, next as u32));
                    next
                }
            };
        }
        self.nodes[node].value = Some(value);
    }

    /// The value and byte length of the longest key that is a prefix of `text`.
    pub fn longest_prefix(&self, text: &str) -> Option<(u16, usize)> {
        let mut best = None;
        let mut node = 0usize;
        for (i, &b) in text.as_bytes().iter().enumerate() {
            match self.nodes[node].children.binary_search_by_key(&b, |c| c.0) {
                Ok(c) => node = self.nodes[node].children[c].1 as usize,
                Err(_) => break,
            }
            if let Some(v) = self.nodes[node].value {
                best = Some((v, i + 1));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = Trie::default();
        t.insert("Etc/GMT", 1);
        t.insert("Etc/GMT-2", 2);
        t.insert("PST", 3);
        assert_eq!(t.longest_prefix("Etc/GMT-2 x"), Some((2, 9)));
        assert_eq!(t.longest_prefix("Etc/GMT-3"), Some((1, 7)));
        assert_eq!(t.longest_prefix("PS"), None);
        assert_eq!(t.longest_prefix("PSTX"), Some((3, 3)));
    }
}
