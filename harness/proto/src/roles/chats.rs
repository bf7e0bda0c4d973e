//! The chats of a role, with O(log n) timers and a dirty list, so that a role holding 100k
//! chats does work proportional to what happened, not to how many chats it holds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::Instant;

/// A chat with timers (heartbeats, deadlines).
pub(crate) trait Timed {
    /// When the chat next wants `handle_timeout`.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Time has advanced to `now`.
    fn handle_timeout(&mut self, now: Instant);
}

/// A role that owns chats and knows how to flush one.
pub(crate) trait ChatOwner {
    /// Its chat type.
    type Chat: Timed;
    /// Its chats.
    fn chats_mut(&mut self) -> &mut Chats<Self::Chat>;
    /// Sends what one chat queued and reports its events (may dirty chats again).
    fn flush_chat(&mut self, now: Instant, id: &str);
}

/// Flushes every dirty chat until none is left, then records their new deadlines.
pub(crate) fn flush_dirty<R: ChatOwner>(role: &mut R, now: Instant) {
    loop {
        let dirty = role.chats_mut().take_dirty();
        if dirty.is_empty() {
            return;
        }
        for id in dirty {
            role.flush_chat(now, &id);
            role.chats_mut().schedule(&id);
        }
    }
}

/// Chats by Call Identifier unique part.
#[derive(Debug)]
pub(crate) struct Chats<C> {
    map: HashMap<String, C>,
    dirty: Vec<String>,
    dirty_set: HashSet<String>,
    /// Every chat's current deadline is in here; entries whose chat has moved on are stale and
    /// are dropped when they reach the top.
    timers: BinaryHeap<Reverse<(Instant, String)>>,
}

impl<C: Timed> Chats<C> {
    pub(crate) fn new() -> Self {
        Self {
            map: HashMap::new(),
            dirty: Vec::new(),
            dirty_set: HashSet::new(),
            timers: BinaryHeap::new(),
        }
    }

    /// Adds a chat (it is dirty: its first outputs and deadline are collected by the next flush).
    pub(crate) fn insert(&mut self, id: String, chat: C) {
        self.map.insert(id.clone(), chat);
        self.mark(&id);
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Removes a chat (its stale timer entries are dropped when they reach the top).
    pub(crate) fn remove(&mut self, id: &str) -> Option<C> {
        self.map.remove(id)
    }

    /// The chat ids, in no particular order.
    pub(crate) fn ids(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&C> {
        self.map.get(id)
    }

    /// Access without marking (for the flush itself).
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut C> {
        self.map.get_mut(id)
    }

    /// Access for a command or an input: the chat is marked dirty.
    pub(crate) fn touch(&mut self, id: &str) -> Option<&mut C> {
        if self.map.contains_key(id) {
            self.mark(id);
        }
        self.map.get_mut(id)
    }

    fn mark(&mut self, id: &str) {
        if self.dirty_set.insert(id.to_string()) {
            self.dirty.push(id.to_string());
        }
    }

    /// The chats touched since the last call, in the order they were touched.
    pub(crate) fn take_dirty(&mut self) -> Vec<String> {
        self.dirty_set.clear();
        std::mem::take(&mut self.dirty)
    }

    /// Records the chat's current deadline (after its outputs were collected).
    pub(crate) fn schedule(&mut self, id: &str) {
        if let Some(t) = self.map.get(id).and_then(Timed::poll_timeout) {
            self.timers.push(Reverse((t, id.to_string())));
        }
    }

    /// The earliest deadline of any chat.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        while let Some(Reverse((t, id))) = self.timers.peek() {
            if self.map.get(id).and_then(Timed::poll_timeout) == Some(*t) {
                return Some(*t);
            }
            self.timers.pop();
        }
        None
    }

    /// Fires the chats whose deadline has come; they become dirty.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some(Reverse((t, _))) = self.timers.peek() {
            if *t > now {
                break;
            }
            let Some(Reverse((t, id))) = self.timers.pop() else {
                break;
            };
            let Some(chat) = self.map.get_mut(&id) else {
                continue;
            };
            if chat.poll_timeout() != Some(t) {
                continue; // stale
            }
            chat.handle_timeout(now);
            self.mark(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug)]
    struct Beat(Option<Instant>, u32);
    impl Timed for Beat {
        fn poll_timeout(&self) -> Option<Instant> {
            self.0
        }
        fn handle_timeout(&mut self, now: Instant) {
            self.1 += 1;
            self.0 = Some(now + Duration::from_secs(20));
        }
    }

    #[test]
    fn only_due_chats_fire_and_stale_entries_are_skipped() {
        let t0 = Instant::now();
        let mut c = Chats::new();
        for i in 0..1000u64 {
            c.insert(
                format!("c{i}"),
                Beat(Some(t0 + Duration::from_millis(i)), 0),
            );
        }
        for id in c.take_dirty() {
            c.schedule(&id);
        }
        assert_eq!(c.poll_timeout(), Some(t0));
        c.handle_timeout(t0 + Duration::from_millis(9));
        let fired = c.take_dirty();
        assert_eq!(fired.len(), 10);
        for id in &fired {
            c.schedule(id);
        }
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(10)));
        // Rescheduling a chat whose deadline moved leaves a stale entry that is skipped.
        if let Some(b) = c.touch("c10") {
            b.0 = Some(t0 + Duration::from_secs(100));
        }
        for id in c.take_dirty() {
            c.schedule(&id);
        }
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(11)));
        assert_eq!(c.get("c10").map(|b| b.1), Some(0));
        assert_eq!(c.len(), 1000);
        assert!(c.contains("c999"));
    }
}
