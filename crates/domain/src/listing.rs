//! Listing rules shared by every `GET /{resources}`: which groups a listing covers, page sizes,
//! and the opaque pagination token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{GroupPath, ParseError, TagFilter};

/// The page size of listings that would otherwise be unbounded in size: child-group and
/// tag-filtered listings without `count`.
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// Which groups around the group in context a listing covers. With neither flag: exactly the
/// group in context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `includeParentGroups`: the ancestors of the group in context too.
    pub parents: bool,
    /// `includeChildGroups`: every descendant of the group in context too.
    pub children: bool,
}

/// Where the previous page stopped: the last item's id and the group it was listed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub id: String,
    pub group: String,
}

impl Cursor {
    /// SIF's token: base64 of `<lastId>:<groupId>`.
    pub fn to_token(&self) -> String {
        STANDARD.encode(format!("{}:{}", self.id, self.group))
    }

    pub fn from_token(token: &str) -> Result<Self, ParseError> {
        let invalid = || ParseError::new(format!("Invalid pagination token '{token}'."));
        let bytes = STANDARD.decode(token.trim()).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (id, group) = text.split_once(':').ok_or_else(invalid)?;
        if id.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            id: id.to_owned(),
            group: group.to_owned(),
        })
    }
}

/// A listing as the stores answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    /// The group in context.
    pub group: GroupPath,
    pub scope: Scope,
    /// All must match (AND).
    pub tags: Vec<TagFilter>,
    pub count: Option<usize>,
    pub after: Option<Cursor>,
}

impl ListRequest {
    pub fn new(group: GroupPath) -> Self {
        Self {
            group,
            scope: Scope::default(),
            tags: Vec::new(),
            count: None,
            after: None,
        }
    }

    /// At most this many items; `None` means all. Without `count`, child-group and tag-filtered
    /// listings stop at [`DEFAULT_PAGE_SIZE`]; exact-group and parent listings return everything.
    pub fn limit(&self) -> Option<usize> {
        self.count
            .or((self.scope.children || !self.tags.is_empty()).then_some(DEFAULT_PAGE_SIZE))
    }

    /// Pages `items`, fetched with at most [`limit`](Self::limit) of them: a cursor is handed
    /// out only when the request asked for pages (`count` or a token) and the page is full.
    pub fn page<T>(&self, items: Vec<T>, cursor_of: impl Fn(&T) -> Cursor) -> Page<T> {
        let asked_for_pages = self.count.is_some() || self.after.is_some();
        let full = self
            .limit()
            .is_some_and(|limit| limit > 0 && items.len() >= limit);
        let next = if asked_for_pages && full {
            items.last().map(cursor_of)
        } else {
            None
        };
        Page {
            items,
            next,
            paginated: asked_for_pages,
        }
    }
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Cursor>,
    /// Whether the request asked for pages; the response then always carries a `pagination` object.
    pub paginated: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            paginated: self.paginated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let cursor = Cursor {
            id: "01h".into(),
            group: "/a/b".into(),
        };
        assert_eq!(cursor.to_token(), "MDFoOi9hL2I=");
        assert_eq!(
            Cursor::from_token(&cursor.to_token()).expect("valid"),
            cursor
        );
        assert!(Cursor::from_token("!!").is_err());
        assert!(Cursor::from_token(&STANDARD.encode("no-separator")).is_err());
    }

    #[test]
    fn page_sizes_and_tokens() {
        let mut request = ListRequest::new(GroupPath::root());
        assert_eq!(request.limit(), None);
        request.scope.children = true;
        assert_eq!(request.limit(), Some(DEFAULT_PAGE_SIZE));
        let cursor = |n: &u32| Cursor {
            id: n.to_string(),
            group: "/".into(),
        };
        let unasked = request.page((0..20).collect(), cursor);
        assert_eq!(
            unasked.next, None,
            "no token unless the request asked for pages"
        );
        request.count = Some(3);
        assert_eq!(request.page(vec![1, 2, 3], cursor).next, Some(cursor(&3)));
        let last = request.page(vec![1, 2], cursor);
        assert!(last.next.is_none() && last.paginated);
    }
}
