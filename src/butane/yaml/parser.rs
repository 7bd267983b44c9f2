//! The parser: tokens in, events out (yaml.v3's parserc.go).
//!
//! Boundary: this module owns the grammar (the state machine of
//! `yaml_parser_parse`), tag directives and the "did not find expected ..."
//! errors. It knows nothing about nodes; the composer consumes its events.
//!
//! Comments: only the head-comment text the parser accumulates is tracked,
//! because its length decides whether yaml.v3 peeks one extra time at a block
//! sequence entry (`split_stem_comment`), and that extra peek can change which
//! error is finally reported. Line and foot comments change nothing we report.

use super::error::{Failed, Fallible};
use super::scanner::{Mark, ScalarStyle, Scanner, Token, TokenKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EventKind {
    /// Go's yaml_NO_EVENT: what `yaml_parser_parse` yields once finished.
    None,
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias,
    Scalar,
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

impl EventKind {
    /// Go's `eventStrings`, used in "expected X event but got Y".
    pub(super) fn name(self) -> &'static str {
        match self {
            EventKind::None => "none",
            EventKind::StreamStart => "stream start",
            EventKind::StreamEnd => "stream end",
            EventKind::DocumentStart => "document start",
            EventKind::DocumentEnd => "document end",
            EventKind::Alias => "alias",
            EventKind::Scalar => "scalar",
            EventKind::SequenceStart => "sequence start",
            EventKind::SequenceEnd => "sequence end",
            EventKind::MappingStart => "mapping start",
            EventKind::MappingEnd => "mapping end",
        }
    }
}

/// The parts of `yaml_event_t` the composer uses.
#[derive(Clone, Debug)]
pub(super) struct Event {
    pub(super) kind: EventKind,
    pub(super) start: Mark,
    /// Anchor name (for aliases: the name referred to).
    pub(super) anchor: Option<Vec<u8>>,
    /// Resolved tag (handle replaced by its prefix), empty if none.
    pub(super) tag: Vec<u8>,
    pub(super) value: Vec<u8>,
    pub(super) scalar_style: ScalarStyle,
    /// Flow style for sequences and mappings.
    pub(super) flow: bool,
}

impl Event {
    fn new(kind: EventKind, start: Mark) -> Self {
        Event {
            kind,
            start,
            anchor: None,
            tag: Vec::new(),
            value: Vec::new(),
            scalar_style: ScalarStyle::Plain,
            flow: false,
        }
    }

    pub(super) fn none() -> Self {
        Event::new(EventKind::None, Mark::default())
    }

    /// A collection start carrying the node properties.
    fn collection(kind: EventKind, start: Mark, props: NodeProps, flow: bool) -> Self {
        Event {
            anchor: props.anchor,
            tag: props.tag,
            flow,
            ..Event::new(kind, start)
        }
    }
}

/// yaml_parser_state_t (without the two states yaml.v3 never enters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// Kind and marks of the token at the queue head.
#[derive(Clone, Copy)]
struct Peeked {
    kind: TokenKind,
    start: Mark,
    end: Mark,
}

/// Anchor and tag collected in front of a node.
struct NodeProps {
    anchor: Option<Vec<u8>>,
    tag: Vec<u8>,
}

struct TagDirective {
    handle: Vec<u8>,
    prefix: Vec<u8>,
}

pub(super) struct Parser<'a> {
    pub(super) scanner: Scanner<'a>,
    state: State,
    states: Vec<State>,
    marks: Vec<Mark>,
    tag_directives: Vec<TagDirective>,
    head_comment: Vec<u8>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Parser {
            scanner: Scanner::new(input),
            state: State::StreamStart,
            states: Vec::new(),
            marks: Vec::new(),
            tag_directives: Vec::new(),
            head_comment: Vec::new(),
        }
    }

    /// yaml_parser_parse: the next event, or a `None` event once the stream
    /// has ended or an error has been recorded.
    pub(super) fn parse(&mut self) -> Fallible<Event> {
        if self.scanner.stream_end_produced()
            || self.scanner.err.is_set()
            || self.state == State::End
        {
            return Ok(Event::none());
        }
        self.state_machine()
    }

    fn state_machine(&mut self) -> Fallible<Event> {
        match self.state {
            State::StreamStart => self.parse_stream_start(),
            State::ImplicitDocumentStart => self.parse_document_start(true),
            State::DocumentStart => self.parse_document_start(false),
            State::DocumentContent => self.parse_document_content(),
            State::DocumentEnd => self.parse_document_end(),
            State::BlockNode => self.parse_node(true, false),
            State::BlockSequenceFirstEntry => self.parse_block_sequence_entry(true),
            State::BlockSequenceEntry => self.parse_block_sequence_entry(false),
            State::IndentlessSequenceEntry => self.parse_indentless_sequence_entry(),
            State::BlockMappingFirstKey => self.parse_block_mapping_key(true),
            State::BlockMappingKey => self.parse_block_mapping_key(false),
            State::BlockMappingValue => self.parse_block_mapping_value(),
            State::FlowSequenceFirstEntry => self.parse_flow_sequence_entry(true),
            State::FlowSequenceEntry => self.parse_flow_sequence_entry(false),
            State::FlowSequenceEntryMappingKey => self.parse_flow_sequence_entry_mapping_key(),
            State::FlowSequenceEntryMappingValue => self.parse_flow_sequence_entry_mapping_value(),
            State::FlowSequenceEntryMappingEnd => self.parse_flow_sequence_entry_mapping_end(),
            State::FlowMappingFirstKey => self.parse_flow_mapping_key(true),
            State::FlowMappingKey => self.parse_flow_mapping_key(false),
            State::FlowMappingValue => self.parse_flow_mapping_value(false),
            State::FlowMappingEmptyValue => self.parse_flow_mapping_value(true),
            State::End => Ok(Event::none()),
        }
    }

    // ----- Token access ------------------------------------------------------

    /// peek_token: fetches tokens if needed and folds the comments that
    /// precede the head token into the parser's comment state.
    fn peek_token(&mut self) -> Fallible<Peeked> {
        if !self.scanner.token_available {
            self.scanner.fetch_more_tokens()?;
        }
        let token = self.scanner.head_token();
        let peeked = Peeked {
            kind: token.kind,
            start: token.start,
            end: token.end,
        };
        self.unfold_comments(peeked);
        Ok(peeked)
    }

    fn head(&self) -> &Token {
        self.scanner.head_token()
    }

    fn skip_token(&mut self) {
        self.scanner.skip_token();
    }

    /// yaml_parser_unfold_comments: consumes (and zeroes) the comments that
    /// belong before `token`, collecting head comment text.
    fn unfold_comments(&mut self, token: Peeked) {
        let s = &mut self.scanner;
        while s.comments_head < s.comments.len()
            && token.start.index >= s.comments[s.comments_head].token_mark.index
        {
            let comment = &mut s.comments[s.comments_head];
            if !comment.head.is_empty() {
                if token.kind == TokenKind::BlockEnd {
                    break;
                }
                if !self.head_comment.is_empty() {
                    self.head_comment.push(b'\n');
                }
                self.head_comment.extend_from_slice(&comment.head);
            }
            *comment = Default::default();
            s.comments_head += 1;
        }
    }

    /// yaml_parser_set_event_comments: the pending comments go to an event.
    fn hand_out_comments(&mut self) {
        self.head_comment.clear();
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn pop_mark(&mut self) -> Mark {
        self.marks.pop().unwrap_or_default()
    }

    fn error(&mut self, problem: &str, at: Mark) -> Failed {
        self.scanner.err.set_parser(problem, at)
    }

    fn error_in(&mut self, context_mark: Mark, problem: &str, at: Mark) -> Failed {
        self.scanner
            .err
            .set_parser_context(context_mark, problem, at)
    }

    // ----- Stream and documents ----------------------------------------------

    fn parse_stream_start(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if token.kind != TokenKind::StreamStart {
            return Err(self.error("did not find expected <stream-start>", token.start));
        }
        self.state = State::ImplicitDocumentStart;
        self.skip_token();
        Ok(Event::new(EventKind::StreamStart, token.start))
    }

    fn parse_document_start(&mut self, implicit: bool) -> Fallible<Event> {
        let mut token = self.peek_token()?;
        if !implicit {
            while token.kind == TokenKind::DocumentEnd {
                self.skip_token();
                token = self.peek_token()?;
            }
        }
        let explicit_start = matches!(
            token.kind,
            TokenKind::VersionDirective
                | TokenKind::TagDirective
                | TokenKind::DocumentStart
                | TokenKind::StreamEnd
        );
        if implicit && !explicit_start {
            self.process_directives()?;
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            self.split_document_head_comment();
            return Ok(Event::new(EventKind::DocumentStart, token.start));
        }
        if token.kind == TokenKind::StreamEnd {
            self.state = State::End;
            self.skip_token();
            return Ok(Event::new(EventKind::StreamEnd, token.start));
        }
        let start = token.start;
        self.process_directives()?;
        let token = self.peek_token()?;
        if token.kind != TokenKind::DocumentStart {
            return Err(self.error("did not find expected <document start>", token.start));
        }
        self.states.push(State::DocumentEnd);
        self.state = State::DocumentContent;
        self.skip_token();
        Ok(Event::new(EventKind::DocumentStart, start))
    }

    /// The head comment up to a blank line goes to the document; the rest
    /// stays for the first node.
    fn split_document_head_comment(&mut self) {
        let hc = &self.head_comment;
        for i in (1..hc.len()).rev() {
            if hc[i] == b'\n' && (i == hc.len() - 1 || hc[i - 1] == b'\n') {
                self.head_comment = hc[i + 1..].to_vec();
                return;
            }
        }
    }

    fn parse_document_content(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if matches!(
            token.kind,
            TokenKind::VersionDirective
                | TokenKind::TagDirective
                | TokenKind::DocumentStart
                | TokenKind::DocumentEnd
                | TokenKind::StreamEnd
        ) {
            self.pop_state();
            return Ok(empty_scalar(token.start));
        }
        self.parse_node(true, false)
    }

    fn parse_document_end(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if token.kind == TokenKind::DocumentEnd {
            self.skip_token();
        }
        self.tag_directives.clear();
        self.state = State::DocumentStart;
        self.hand_out_comments();
        Ok(Event::new(EventKind::DocumentEnd, token.start))
    }

    /// yaml_parser_process_directives: %YAML (only 1.1 is accepted) and %TAG,
    /// then the default handles "!" and "!!".
    fn process_directives(&mut self) -> Fallible {
        let mut seen_version = false;
        let mut token = self.peek_token()?;
        while matches!(
            token.kind,
            TokenKind::VersionDirective | TokenKind::TagDirective
        ) {
            let head = self.head();
            if token.kind == TokenKind::VersionDirective {
                let (major, minor) = (head.major, head.minor);
                if seen_version {
                    return Err(self.error("found duplicate %YAML directive", token.start));
                }
                if major != 1 || minor != 1 {
                    return Err(self.error("found incompatible YAML document", token.start));
                }
                seen_version = true;
            } else {
                let directive = TagDirective {
                    handle: head.value.clone(),
                    prefix: head.prefix.clone(),
                };
                self.append_tag_directive(directive, false, token.start)?;
            }
            self.skip_token();
            token = self.peek_token()?;
        }
        for (handle, prefix) in [("!", "!"), ("!!", "tag:yaml.org,2002:")] {
            let directive = TagDirective {
                handle: handle.as_bytes().to_vec(),
                prefix: prefix.as_bytes().to_vec(),
            };
            self.append_tag_directive(directive, true, token.start)?;
        }
        Ok(())
    }

    fn append_tag_directive(
        &mut self,
        value: TagDirective,
        allow_duplicates: bool,
        mark: Mark,
    ) -> Fallible {
        if self.tag_directives.iter().any(|d| d.handle == value.handle) {
            if allow_duplicates {
                return Ok(());
            }
            return Err(self.error("found duplicate %TAG directive", mark));
        }
        self.tag_directives.push(value);
        Ok(())
    }

    // ----- Nodes -------------------------------------------------------------

    /// yaml_parser_parse_node: properties (anchor, tag) and then a scalar,
    /// alias or collection start.
    fn parse_node(&mut self, block: bool, indentless_sequence: bool) -> Fallible<Event> {
        let mut token = self.peek_token()?;
        if token.kind == TokenKind::Alias {
            self.pop_state();
            let mut event = Event::new(EventKind::Alias, token.start);
            event.anchor = Some(self.scanner.take_head_value());
            self.hand_out_comments();
            self.skip_token();
            return Ok(event);
        }

        let mut start = token.start;
        let mut anchor = None;
        let mut tag_parts = None;
        let mut tag_mark = Mark::default();
        if token.kind == TokenKind::Anchor {
            anchor = Some(self.scanner.take_head_value());
            self.skip_token();
            token = self.peek_token()?;
            if token.kind == TokenKind::Tag {
                tag_parts = Some((self.head().value.clone(), self.head().suffix.clone()));
                tag_mark = token.start;
                self.skip_token();
                token = self.peek_token()?;
            }
        } else if token.kind == TokenKind::Tag {
            tag_parts = Some((self.head().value.clone(), self.head().suffix.clone()));
            start = token.start;
            tag_mark = token.start;
            self.skip_token();
            token = self.peek_token()?;
            if token.kind == TokenKind::Anchor {
                anchor = Some(self.scanner.take_head_value());
                self.skip_token();
                token = self.peek_token()?;
            }
        }

        let tag = match tag_parts {
            None => Vec::new(),
            Some((handle, suffix)) => self.resolve_tag_handle(handle, suffix, start, tag_mark)?,
        };
        let props = NodeProps { anchor, tag };

        if indentless_sequence && token.kind == TokenKind::BlockEntry {
            self.state = State::IndentlessSequenceEntry;
            return Ok(Event::collection(
                EventKind::SequenceStart,
                start,
                props,
                false,
            ));
        }
        match token.kind {
            TokenKind::Scalar => {
                self.pop_state();
                let scalar_style = self.head().style;
                let event = Event {
                    value: self.scanner.take_head_value(),
                    scalar_style,
                    anchor: props.anchor,
                    tag: props.tag,
                    ..Event::new(EventKind::Scalar, start)
                };
                self.hand_out_comments();
                self.skip_token();
                return Ok(event);
            }
            TokenKind::FlowSequenceStart => {
                self.state = State::FlowSequenceFirstEntry;
                self.hand_out_comments();
                return Ok(Event::collection(
                    EventKind::SequenceStart,
                    start,
                    props,
                    true,
                ));
            }
            TokenKind::FlowMappingStart => {
                self.state = State::FlowMappingFirstKey;
                self.hand_out_comments();
                return Ok(Event::collection(
                    EventKind::MappingStart,
                    start,
                    props,
                    true,
                ));
            }
            TokenKind::BlockSequenceStart if block => {
                self.state = State::BlockSequenceFirstEntry;
                return Ok(Event::collection(
                    EventKind::SequenceStart,
                    start,
                    props,
                    false,
                ));
            }
            TokenKind::BlockMappingStart if block => {
                self.state = State::BlockMappingFirstKey;
                return Ok(Event::collection(
                    EventKind::MappingStart,
                    start,
                    props,
                    false,
                ));
            }
            _ => {}
        }
        if props.anchor.is_some() || !props.tag.is_empty() {
            // Properties without content: an empty plain scalar.
            self.pop_state();
            return Ok(Event {
                anchor: props.anchor,
                tag: props.tag,
                ..Event::new(EventKind::Scalar, start)
            });
        }
        Err(self.error_in(start, "did not find expected node content", token.start))
    }

    /// Replaces a tag handle by the prefix of its %TAG directive.
    fn resolve_tag_handle(
        &mut self,
        handle: Vec<u8>,
        suffix: Vec<u8>,
        start: Mark,
        tag_mark: Mark,
    ) -> Fallible<Vec<u8>> {
        if handle.is_empty() {
            return Ok(suffix);
        }
        let mut tag = Vec::new();
        if let Some(directive) = self.tag_directives.iter().find(|d| d.handle == handle) {
            tag.extend_from_slice(&directive.prefix);
            tag.extend_from_slice(&suffix);
        }
        if tag.is_empty() {
            return Err(self.error_in(start, "found undefined tag handle", tag_mark));
        }
        Ok(tag)
    }

    // ----- Block collections -------------------------------------------------

    /// Remembers where a collection starts (for error context) and skips its
    /// start token.
    fn enter_collection(&mut self) -> Fallible {
        let token = self.peek_token()?;
        self.marks.push(token.start);
        self.skip_token();
        Ok(())
    }

    fn parse_block_sequence_entry(&mut self, first: bool) -> Fallible<Event> {
        if first {
            self.enter_collection()?;
        }
        let token = self.peek_token()?;
        if token.kind == TokenKind::BlockEntry {
            let mark = token.end;
            let prior_head_len = self.head_comment.len();
            self.skip_token();
            self.split_stem_comment(prior_head_len);
            let token = self.peek_token()?;
            if !matches!(token.kind, TokenKind::BlockEntry | TokenKind::BlockEnd) {
                self.states.push(State::BlockSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::BlockSequenceEntry;
            return Ok(empty_scalar(mark));
        }
        if token.kind == TokenKind::BlockEnd {
            self.pop_state();
            self.pop_mark();
            self.skip_token();
            return Ok(Event::new(EventKind::SequenceEnd, token.start));
        }
        let context_mark = self.pop_mark();
        Err(self.error_in(
            context_mark,
            "did not find expected '-' indicator",
            token.start,
        ))
    }

    fn parse_indentless_sequence_entry(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if token.kind == TokenKind::BlockEntry {
            let mark = token.end;
            let prior_head_len = self.head_comment.len();
            self.skip_token();
            self.split_stem_comment(prior_head_len);
            let token = self.peek_token()?;
            if !matches!(
                token.kind,
                TokenKind::BlockEntry | TokenKind::Key | TokenKind::Value | TokenKind::BlockEnd
            ) {
                self.states.push(State::IndentlessSequenceEntry);
                return self.parse_node(true, false);
            }
            self.state = State::IndentlessSequenceEntry;
            return Ok(empty_scalar(mark));
        }
        self.pop_state();
        Ok(Event::new(EventKind::SequenceEnd, token.start))
    }

    /// yaml_parser_split_stem_comment: a head comment before a nested
    /// collection in a sequence entry. Its peek may fail; Go ignores that
    /// (the error stays recorded) and the caller peeks again.
    fn split_stem_comment(&mut self, stem_len: usize) {
        if stem_len == 0 {
            return;
        }
        let Ok(token) = self.peek_token() else {
            return;
        };
        if !matches!(
            token.kind,
            TokenKind::BlockSequenceStart | TokenKind::BlockMappingStart
        ) {
            return;
        }
        if self.head_comment.len() == stem_len {
            self.head_comment.clear();
        } else {
            self.head_comment = self.head_comment[stem_len + 1..].to_vec();
        }
    }

    fn parse_block_mapping_key(&mut self, first: bool) -> Fallible<Event> {
        if first {
            self.enter_collection()?;
        }
        let token = self.peek_token()?;
        if token.kind == TokenKind::Key {
            let mark = token.end;
            self.skip_token();
            let token = self.peek_token()?;
            if !matches!(
                token.kind,
                TokenKind::Key | TokenKind::Value | TokenKind::BlockEnd
            ) {
                self.states.push(State::BlockMappingValue);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingValue;
            return Ok(empty_scalar(mark));
        }
        if token.kind == TokenKind::BlockEnd {
            self.pop_state();
            self.pop_mark();
            self.hand_out_comments();
            self.skip_token();
            return Ok(Event::new(EventKind::MappingEnd, token.start));
        }
        let context_mark = self.pop_mark();
        Err(self.error_in(context_mark, "did not find expected key", token.start))
    }

    fn parse_block_mapping_value(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if token.kind == TokenKind::Value {
            let mark = token.end;
            self.skip_token();
            let token = self.peek_token()?;
            if !matches!(
                token.kind,
                TokenKind::Key | TokenKind::Value | TokenKind::BlockEnd
            ) {
                self.states.push(State::BlockMappingKey);
                return self.parse_node(true, true);
            }
            self.state = State::BlockMappingKey;
            return Ok(empty_scalar(mark));
        }
        self.state = State::BlockMappingKey;
        Ok(empty_scalar(token.start))
    }

    // ----- Flow collections --------------------------------------------------

    fn parse_flow_sequence_entry(&mut self, first: bool) -> Fallible<Event> {
        if first {
            self.enter_collection()?;
        }
        let mut token = self.peek_token()?;
        if token.kind != TokenKind::FlowSequenceEnd {
            if !first {
                if token.kind != TokenKind::FlowEntry {
                    let context_mark = self.pop_mark();
                    return Err(self.error_in(
                        context_mark,
                        "did not find expected ',' or ']'",
                        token.start,
                    ));
                }
                self.skip_token();
                token = self.peek_token()?;
            }
            if token.kind == TokenKind::Key {
                // "[a: b]": a single-pair mapping inside the sequence.
                self.state = State::FlowSequenceEntryMappingKey;
                self.skip_token();
                let mut event = Event::new(EventKind::MappingStart, token.start);
                event.flow = true;
                return Ok(event);
            }
            if token.kind != TokenKind::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.pop_mark();
        self.hand_out_comments();
        self.skip_token();
        Ok(Event::new(EventKind::SequenceEnd, token.start))
    }

    fn parse_flow_sequence_entry_mapping_key(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if !matches!(
            token.kind,
            TokenKind::Value | TokenKind::FlowEntry | TokenKind::FlowSequenceEnd
        ) {
            self.states.push(State::FlowSequenceEntryMappingValue);
            return self.parse_node(false, false);
        }
        let mark = token.end;
        self.skip_token();
        self.state = State::FlowSequenceEntryMappingValue;
        Ok(empty_scalar(mark))
    }

    fn parse_flow_sequence_entry_mapping_value(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        if token.kind == TokenKind::Value {
            self.skip_token();
            // Go shadows `token` here: the empty value below still takes its
            // mark from the ':' token.
            let next = self.peek_token()?;
            if !matches!(next.kind, TokenKind::FlowEntry | TokenKind::FlowSequenceEnd) {
                self.states.push(State::FlowSequenceEntryMappingEnd);
                return self.parse_node(false, false);
            }
        }
        self.state = State::FlowSequenceEntryMappingEnd;
        Ok(empty_scalar(token.start))
    }

    fn parse_flow_sequence_entry_mapping_end(&mut self) -> Fallible<Event> {
        let token = self.peek_token()?;
        self.state = State::FlowSequenceEntry;
        Ok(Event::new(EventKind::MappingEnd, token.start))
    }

    fn parse_flow_mapping_key(&mut self, first: bool) -> Fallible<Event> {
        if first {
            self.enter_collection()?;
        }
        let mut token = self.peek_token()?;
        if token.kind != TokenKind::FlowMappingEnd {
            if !first {
                if token.kind != TokenKind::FlowEntry {
                    let context_mark = self.pop_mark();
                    return Err(self.error_in(
                        context_mark,
                        "did not find expected ',' or '}'",
                        token.start,
                    ));
                }
                self.skip_token();
                token = self.peek_token()?;
            }
            if token.kind == TokenKind::Key {
                self.skip_token();
                let token = self.peek_token()?;
                if !matches!(
                    token.kind,
                    TokenKind::Value | TokenKind::FlowEntry | TokenKind::FlowMappingEnd
                ) {
                    self.states.push(State::FlowMappingValue);
                    return self.parse_node(false, false);
                }
                self.state = State::FlowMappingValue;
                return Ok(empty_scalar(token.start));
            }
            if token.kind != TokenKind::FlowMappingEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.parse_node(false, false);
            }
        }
        self.pop_state();
        self.pop_mark();
        self.hand_out_comments();
        self.skip_token();
        Ok(Event::new(EventKind::MappingEnd, token.start))
    }

    fn parse_flow_mapping_value(&mut self, empty: bool) -> Fallible<Event> {
        let mut token = self.peek_token()?;
        if empty {
            self.state = State::FlowMappingKey;
            return Ok(empty_scalar(token.start));
        }
        if token.kind == TokenKind::Value {
            self.skip_token();
            token = self.peek_token()?;
            if !matches!(token.kind, TokenKind::FlowEntry | TokenKind::FlowMappingEnd) {
                self.states.push(State::FlowMappingKey);
                return self.parse_node(false, false);
            }
        }
        self.state = State::FlowMappingKey;
        Ok(empty_scalar(token.start))
    }
}

/// yaml_parser_process_empty_scalar.
fn empty_scalar(mark: Mark) -> Event {
    Event::new(EventKind::Scalar, mark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &str) -> Vec<EventKind> {
        let mut p = Parser::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            let e = p.parse().expect("parses");
            if e.kind == EventKind::None {
                return out;
            }
            out.push(e.kind);
        }
    }

    #[test]
    fn block_mapping_events() {
        use EventKind::*;
        assert_eq!(
            events("a: [b]\n"),
            vec![
                StreamStart,
                DocumentStart,
                MappingStart,
                Scalar,
                SequenceStart,
                Scalar,
                SequenceEnd,
                MappingEnd,
                DocumentEnd,
                StreamEnd
            ]
        );
    }

    #[test]
    fn missing_key_is_reported_with_context() {
        let mut p = Parser::new(b"a: b\n c: d\ne\n");
        while p.parse().is_ok_and(|e| e.kind != EventKind::None) {}
        assert!(p.scanner.err.is_set());
    }
}
