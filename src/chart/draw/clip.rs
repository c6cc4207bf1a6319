//! Clipping to a panel's plot, in CSS px, and tracing a polyline with gaps into the runs
//! that stay inside it, in device px.

use super::{CssPoint, DevicePoint};

/// The rectangle drawing is clipped to, CSS px.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clip {
    pub(super) left: f64,
    pub(super) right: f64,
    pub(super) top: f64,
    pub(super) bottom: f64,
}

impl Clip {
    pub(super) fn contains(&self, (x, y): CssPoint) -> bool {
        (self.left..=self.right).contains(&x) && (self.top..=self.bottom).contains(&y)
    }

    /// The part of the segment `p → q` inside (Liang–Barsky), and whether each end was
    /// moved.
    fn segment(&self, p: CssPoint, q: CssPoint) -> Option<(CssPoint, CssPoint, bool, bool)> {
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let (mut enter, mut leave) = (0.0f64, 1.0f64);
        for (direction, room) in [
            (-dx, p.0 - self.left),
            (dx, self.right - p.0),
            (-dy, p.1 - self.top),
            (dy, self.bottom - p.1),
        ] {
            if direction == 0.0 {
                if room < 0.0 {
                    return None;
                }
                continue;
            }
            let t = room / direction;
            if direction < 0.0 {
                enter = enter.max(t);
            } else {
                leave = leave.min(t);
            }
            if enter > leave {
                return None;
            }
        }
        let point = |t: f64| (p.0 + t * dx, p.1 + t * dy);
        Some((point(enter), point(leave), enter > 0.0, leave < 1.0))
    }

    /// `polygon` clipped to the rectangle (Sutherland–Hodgman, one edge at a time).
    pub(super) fn polygon(&self, mut polygon: Vec<CssPoint>) -> Vec<CssPoint> {
        // (coordinate, bound, whether inside is above the bound)
        let edges = [
            (0, self.left, true),
            (0, self.right, false),
            (1, self.top, true),
            (1, self.bottom, false),
        ];
        for (axis, bound, above) in edges {
            let coordinate = |p: CssPoint| if axis == 0 { p.0 } else { p.1 };
            let inside = |p: CssPoint| {
                if above {
                    coordinate(p) >= bound
                } else {
                    coordinate(p) <= bound
                }
            };
            let crossing = |a: CssPoint, b: CssPoint| {
                let t = (bound - coordinate(a)) / (coordinate(b) - coordinate(a));
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            };
            let Some(&last) = polygon.last() else {
                return polygon;
            };
            let mut clipped = Vec::with_capacity(polygon.len() + 4);
            let mut previous = last;
            for &point in &polygon {
                match (inside(previous), inside(point)) {
                    (true, true) => clipped.push(point),
                    (true, false) => clipped.push(crossing(previous, point)),
                    (false, true) => {
                        clipped.push(crossing(previous, point));
                        clipped.push(point);
                    }
                    (false, false) => {}
                }
                previous = point;
            }
            polygon = clipped;
        }
        polygon
    }
}

/// Whether `a → b → c` is one straight stroke going on in the same direction.
fn continues(a: DevicePoint, b: DevicePoint, c: DevicePoint) -> bool {
    let d = |p: DevicePoint, q: DevicePoint| {
        (
            i64::from(q.0) - i64::from(p.0),
            i64::from(q.1) - i64::from(p.1),
        )
    };
    let (u, v) = (d(a, b), d(b, c));
    u.0 * v.1 == u.1 * v.0 && u.0 * v.0 + u.1 * v.1 > 0
}

/// Follows a polyline with gaps and cuts it into the runs visible inside a [`Clip`], in
/// device px without consecutive repeats.
pub(super) struct Tracer {
    clip: Clip,
    scale: f64,
    /// The previous point, `None` after a gap.
    pen: Option<CssPoint>,
    run: Vec<DevicePoint>,
    runs: Vec<Vec<DevicePoint>>,
}

impl Tracer {
    pub(super) fn new(clip: Clip, scale: f64) -> Self {
        Tracer {
            clip,
            scale,
            pen: None,
            run: Vec::new(),
            runs: Vec::new(),
        }
    }

    pub(super) fn line_to(&mut self, point: CssPoint) {
        match self.pen {
            None => {
                if self.clip.contains(point) {
                    self.push(point);
                }
            }
            Some(pen) => match self.clip.segment(pen, point) {
                Some((from, to, entered, left)) => {
                    if entered {
                        self.end_run();
                    }
                    if self.run.is_empty() {
                        self.push(from);
                    }
                    self.push(to);
                    if left {
                        self.end_run();
                    }
                }
                None => self.end_run(),
            },
        }
        self.pen = Some(point);
    }

    /// A gap: the next point starts a new run.
    pub(super) fn lift(&mut self) {
        self.end_run();
        self.pen = None;
    }

    pub(super) fn finish(mut self) -> Vec<Vec<DevicePoint>> {
        self.end_run();
        self.runs
    }

    /// Adds a point, dropping repeats and the middle of three points on one straight
    /// stroke (a bin's first, min and max often fall in one pixel column): the same pixels
    /// with fewer vertices to stroke.
    fn push(&mut self, (x, y): CssPoint) {
        let point = (
            (x * self.scale).round() as i32,
            (y * self.scale).round() as i32,
        );
        match self.run[..] {
            [.., last] if last == point => {}
            [.., a, b] if continues(a, b, point) => {
                if let Some(end) = self.run.last_mut() {
                    *end = point;
                }
            }
            _ => self.run.push(point),
        }
    }

    fn end_run(&mut self) {
        if !self.run.is_empty() {
            self.runs.push(std::mem::take(&mut self.run));
        }
    }
}
