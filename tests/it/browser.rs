//! The HTML report in real headless Chromium (Debian's `chromium`, which
//! `scripts/test.sh` installs): a screenshot that shows something, at least one SVG
//! with something drawn in it, and nothing wider than the window at 375 px (a
//! phone) and 1280 px (a desktop).
//!
//! Chromium runs with no network at all: inside an empty network namespace
//! (`unshare --net`: only a loopback interface, down), and with the flags that
//! turn off its background traffic and map every host name to "not found". The
//! binary is started directly, not through Debian's `/usr/bin/chromium` wrapper,
//! which sources `/etc/chromium.d` (Google API keys, remote extensions). Each run
//! has its own profile in a temporary folder and a clean environment.
//!
//! Two runs per width: one takes the screenshot of the page as it is; the other
//! loads a copy in a frame of exactly the width (see [`with_measure`]), and a
//! script in the page around the frame measures the layout after `load` and writes
//! it as JSON into `<pre id="layout-report">`, which `--dump-dom` prints. The copy
//! carries a probe script of its own, which runs only when the page's
//! Content-Security-Policy lets it. The PNG is checked without a decoder (none is in the
//! tree): signature, every chunk's CRC, IHDR size, and more compressed image data
//! than a blank page of the same size gives.

use serde_json::Value;
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The window height of every run (the width is the test's).
pub(crate) const HEIGHT: u32 = 900;
/// A phone and a desktop.
pub(crate) const WIDTHS: [u32; 2] = [375, 1280];

/// The browser itself, not Debian's wrapper script.
const CHROMIUM: &str = "/usr/lib/chromium/chromium";
/// A run that takes longer has hung.
const DEADLINE: Duration = Duration::from_secs(120);
/// Virtual time the page gets before the DOM is dumped (so `load` has fired).
const VIRTUAL_TIME_MS: u32 = 5000;

/// Measures the layout once the page and its frame have loaded; see the module
/// docs. It runs in the page around the frame, not in the report: the report's
/// Content-Security-Policy allows no script, so a script inside it would not run.
const MEASURE: &str = r#"<script>
window.addEventListener('load', function () {
  var frame = document.getElementById('measured');
  (function (window, document, getComputedStyle) {
  var vw = window.innerWidth;
  var de = document.documentElement;
  function name(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) {
      s += '.' + el.className.trim().split(/\s+/).join('.');
    }
    return s;
  }
  // Clipped by a scrolling or hiding ancestor: does not widen the page.
  function clipped(el) {
    for (var p = el.parentElement; p && p !== de; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  }
  function beyond(el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    return r.right > vw + 0.5 || r.left < -0.5;
  }
  var over = [], count = 0;
  var all = document.body.getElementsByTagName('*');
  for (var i = 0; i < all.length; i++) {
    var el = all[i];
    if (el.tagName === 'SCRIPT' || !beyond(el) || clipped(el)) continue;
    count++;
    // Name only the outermost: its children overflow because it does.
    var parent = el.parentElement;
    if (parent && parent !== document.body && beyond(parent)) continue;
    if (over.length < 20) {
      over.push(name(el) + ' right=' + Math.round(el.getBoundingClientRect().right));
    }
  }
  var svgs = [];
  var list = document.getElementsByTagName('svg');
  for (var j = 0; j < list.length; j++) {
    var r = list[j].getBoundingClientRect();
    svgs.push({
      width: Math.round(r.width),
      height: Math.round(r.height),
      drawables: list[j].querySelectorAll(
        'rect,path,line,polyline,polygon,circle,ellipse,text').length
    });
  }
  // The contracts' summary boxes, and whether each incident's details are shown
  // whole: not cut inside the cell, and not scrolled out of its container.
  var verdicts = [];
  var vs = document.querySelectorAll('.verdict');
  for (var k = 0; k < vs.length; k++) {
    var b = vs[k].getBoundingClientRect();
    verdicts.push({top: Math.round(b.top), bottom: Math.round(b.bottom),
                   right: Math.round(b.right), scroll_width: vs[k].scrollWidth,
                   client_width: vs[k].clientWidth});
  }
  var details = [];
  var ds = document.querySelectorAll('td.details');
  for (var m = 0; m < ds.length; m++) {
    var cell = ds[m], cb = cell.getBoundingClientRect(), inside = true;
    for (var q = cell.parentElement; q && q !== de; q = q.parentElement) {
      if (getComputedStyle(q).overflowX !== 'visible') {
        var qb = q.getBoundingClientRect();
        if (cb.right > qb.right + 0.5 || cb.left < qb.left - 0.5) inside = false;
      }
    }
    details.push({scroll_width: cell.scrollWidth, client_width: cell.clientWidth,
                  inside: inside && cb.right <= vw + 0.5});
  }
  // Measured inside the frame the harness sized; reported in the page around it,
  // which is what --dump-dom prints.
  var host = window.parent.document;
  var pre = host.createElement('pre');
  pre.id = 'layout-report';
  pre.textContent = JSON.stringify({
    viewport: vw,
    scroll_width: Math.max(de.scrollWidth, document.body.scrollWidth),
    overflowing: over,
    overflow_count: count,
    svgs: svgs,
    verdicts: verdicts,
    details: details,
    text_length: document.body.innerText.length,
    // The policy the report states, whether the probe script in it ran, and what
    // its styles made of the first verdict box and of an "up" span of an SVG.
    csp: (function () {
      var m = document.querySelector('meta[http-equiv="Content-Security-Policy"]');
      return m ? m.getAttribute('content') : null;
    })(),
    script_ran: de.getAttribute('data-probe-script') === 'ran',
    verdict_border: vs.length ? (getComputedStyle(vs[0]).borderLeftWidth + ' ' +
      getComputedStyle(vs[0]).borderLeftStyle + ' ' +
      getComputedStyle(vs[0]).borderLeftColor) : null,
    up_fill: (function () {
      var u = document.querySelector('svg rect.up');
      return u ? getComputedStyle(u).fill : null;
    })()
  });
  host.body.appendChild(pre);
  })(frame.contentWindow, frame.contentDocument,
     frame.contentWindow.getComputedStyle.bind(frame.contentWindow));
});
</script>"#;

/// A script put into the measured copy of the page: it marks the document when it
/// runs, so the measure tells whether the page's policy lets an inline script run.
const PROBE: &str =
    "<script>document.documentElement.setAttribute('data-probe-script', 'ran')</script>";

/// One `<svg>` as laid out: its box in CSS pixels and the shapes inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Svg {
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) drawables: u64,
}

/// What the measuring script found.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// `window.innerWidth`.
    pub(crate) viewport: u64,
    /// The document's scroll width: wider than the viewport means a sideways scroll.
    pub(crate) scroll_width: u64,
    /// The outermost elements reaching past the viewport (not clipped by a scrolling
    /// ancestor), as `tag#id.class right=PX`.
    pub(crate) overflowing: Vec<String>,
    /// Every element reaching past it.
    pub(crate) overflow_count: u64,
    pub(crate) svgs: Vec<Svg>,
    /// Characters of visible text.
    pub(crate) text_length: u64,
    /// Each `.verdict` box (a contract's summary): top, bottom and right edge in
    /// CSS px from the top left of the first screen, scroll and client width.
    pub(crate) verdicts: Vec<[i64; 5]>,
    /// Each incident details cell: scroll width, client width, and whether it is
    /// inside every scrolling ancestor's visible box and the window.
    pub(crate) details: Vec<(i64, i64, bool)>,
    /// The `content` of the page's `<meta http-equiv="Content-Security-Policy">`.
    pub(crate) csp: Option<String>,
    /// Whether [`PROBE`], an inline script put into the page, ran.
    pub(crate) script_ran: bool,
    /// The first `.verdict` box's left border as computed: `6px solid rgb(…)`.
    pub(crate) verdict_border: Option<String>,
    /// The computed fill of the first `rect.up` inside an SVG.
    pub(crate) up_fill: Option<String>,
    /// The script's JSON, for messages.
    pub(crate) json: String,
}

impl Layout {
    pub(crate) fn overflows(&self) -> bool {
        self.scroll_width > self.viewport || self.overflow_count > 0
    }
}

/// What a PNG's chunks say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Png {
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// Bytes of compressed image data (all IDAT chunks).
    pub(crate) idat: usize,
}

/// A page rendered at one width.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) width: u32,
    /// The screenshot, kept under the target's temp dir to look at after a failure.
    pub(crate) png_path: PathBuf,
    pub(crate) png: Png,
    pub(crate) layout: Layout,
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Walks a PNG's chunks: signature, IHDR first, every CRC, IDAT present, IEND last.
pub(crate) fn parse_png(bytes: &[u8]) -> Result<Png, String> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let rest = bytes
        .strip_prefix(SIGNATURE)
        .ok_or("not a PNG: the signature is missing")?;
    let mut at = 0;
    let mut png: Option<Png> = None;
    let mut ended = false;
    while at < rest.len() {
        if ended {
            return Err("bytes after IEND".to_owned());
        }
        let head = rest
            .get(at..at + 8)
            .ok_or_else(|| format!("chunk header cut off at byte {at}"))?;
        let len = usize::try_from(u32::from_be_bytes(head[..4].try_into().unwrap())).unwrap();
        let kind = &head[4..8];
        let body = rest
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| format!("chunk {} cut off", String::from_utf8_lossy(kind)))?;
        let crc = rest.get(at + 8 + len..at + 12 + len).ok_or("CRC cut off")?;
        if crc32(&rest[at + 4..at + 8 + len]) != u32::from_be_bytes(crc.try_into().unwrap()) {
            return Err(format!(
                "chunk {} at byte {} has a bad CRC",
                String::from_utf8_lossy(kind),
                at + 8
            ));
        }
        match (kind, &mut png) {
            (b"IHDR", None) if len == 13 => {
                png = Some(Png {
                    width: u32::from_be_bytes(body[..4].try_into().unwrap()),
                    height: u32::from_be_bytes(body[4..8].try_into().unwrap()),
                    idat: 0,
                });
            }
            (b"IHDR", _) | (_, None) => return Err("IHDR is not the first chunk".to_owned()),
            (b"IDAT", Some(p)) => p.idat += len,
            (b"IEND", Some(_)) => ended = true,
            _ => {}
        }
        at += 12 + len;
    }
    match png {
        Some(p) if ended && p.idat > 0 => Ok(p),
        Some(_) if !ended => Err("no IEND: the file is cut off".to_owned()),
        _ => Err("no image data".to_owned()),
    }
}

/// Runs Chromium with no network on `page` in `dir`, with `args`; returns stdout.
fn chromium(dir: &Path, profile: &str, width: u32, args: &[String], page: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "Debian's chromium is not installed ({CHROMIUM} is missing): ./scripts/test.sh \
         installs it, or: apt-get install --no-install-recommends chromium"
    );
    let out = dir.join(format!("{profile}.stdout"));
    let err = dir.join(format!("{profile}.stderr"));
    let mut child = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-breakpad",
            "--no-pings",
            "--metrics-recording-only",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join(format!("{profile}.profile")).display()
        ))
        .arg(format!("--window-size={width},{HEIGHT}"))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("TMPDIR", dir)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start unshare (util-linux): {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            // The group is Chromium and the processes it forked, all ours.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "chromium did not finish within {DEADLINE:?} ({profile}); its standard error is in {}",
                err.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        !stderr.starts_with("unshare:"),
        "chromium must run without a network, but `unshare --net` failed (it needs root, \
         as ./scripts/test.sh runs, or user namespaces): {stderr}"
    );
    assert!(
        status.success(),
        "chromium failed ({status}, {profile}):\n{}",
        stderr
            .lines()
            .filter(|l| !l.contains("dbus"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    std::fs::read_to_string(&out).unwrap()
}

/// The screenshot of `page` at `width`: its bytes.
fn screenshot(dir: &Path, profile: &str, page: &Path, width: u32) -> Vec<u8> {
    let png = dir.join(format!("{profile}.png"));
    chromium(
        dir,
        profile,
        width,
        &[format!("--screenshot={}", png.display())],
        page,
    );
    std::fs::read(&png)
        .unwrap_or_else(|e| panic!("chromium wrote no screenshot {}: {e}", png.display()))
}

/// IDAT bytes of a blank page's screenshot at `width`: what "nothing painted" weighs.
fn blank_idat(width: u32) -> usize {
    static CACHE: OnceLock<Mutex<HashMap<u32, usize>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(n) = cache.lock().unwrap().get(&width) {
        return *n;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("blank.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body></body></html>",
    )
    .unwrap();
    let png = parse_png(&screenshot(dir.path(), "blank", &page, width))
        .unwrap_or_else(|e| panic!("the blank page's screenshot is not a valid PNG: {e}"));
    cache.lock().unwrap().insert(width, png.idat);
    png.idat
}

/// Decodes the text of `<pre id="layout-report">` in a dumped DOM.
fn layout_from_dom(dom: &str) -> Result<Layout, String> {
    let start = dom.find("<pre id=\"layout-report\">").ok_or(
        "the dumped DOM has no <pre id=\"layout-report\">: the measuring script did not run",
    )?;
    let text = &dom[start + "<pre id=\"layout-report\">".len()..];
    let text = &text[..text
        .find("</pre>")
        .ok_or("<pre id=\"layout-report\"> is not closed")?];
    let json = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let v: Value = serde_json::from_str(&json).map_err(|e| format!("{e}: {json}"))?;
    let int = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("layout report: '{k}' is not a whole number: {json}"))
    };
    Ok(Layout {
        viewport: int(&v, "viewport")?,
        scroll_width: int(&v, "scroll_width")?,
        overflowing: v["overflowing"]
            .as_array()
            .ok_or("layout report: no 'overflowing' list")?
            .iter()
            .map(|s| s.as_str().unwrap_or_default().to_owned())
            .collect(),
        overflow_count: int(&v, "overflow_count")?,
        svgs: v["svgs"]
            .as_array()
            .ok_or("layout report: no 'svgs' list")?
            .iter()
            .map(|s| {
                Ok(Svg {
                    width: int(s, "width")?,
                    height: int(s, "height")?,
                    drawables: int(s, "drawables")?,
                })
            })
            .collect::<Result<_, String>>()?,
        text_length: int(&v, "text_length")?,
        verdicts: v["verdicts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|b| {
                        ["top", "bottom", "right", "scroll_width", "client_width"]
                            .map(|k| b[k].as_i64().unwrap_or(i64::MAX))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        details: v["details"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| {
                        (
                            d["scroll_width"].as_i64().unwrap_or(i64::MAX),
                            d["client_width"].as_i64().unwrap_or(0),
                            d["inside"].as_bool().unwrap_or(false),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        csp: v["csp"].as_str().map(str::to_owned),
        script_ran: v["script_ran"].as_bool().unwrap_or(false),
        verdict_border: v["verdict_border"].as_str().map(str::to_owned),
        up_fill: v["up_fill"].as_str().map(str::to_owned),
        json,
    })
}

/// A page holding `html` (with [`PROBE`] appended to its body) in a frame of
/// exactly `width` × [`HEIGHT`], and the measuring script after the frame. Chromium's windows are at least 500 px
/// wide when it dumps the DOM (only `--screenshot` emulates a smaller one), so the
/// page is measured in a frame it cannot widen; `srcdoc` keeps the frame in the
/// page's origin, so the script can write its report outside the frame.
fn with_measure(html: &str, width: u32) -> String {
    let inner = match html.to_ascii_lowercase().rfind("</body>") {
        Some(i) => format!("{}{PROBE}{}", &html[..i], &html[i..]),
        None => format!("{html}{PROBE}"),
    };
    let escaped = inner.replace('&', "&amp;").replace('"', "&quot;");
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"margin:0\"><iframe id=\"measured\" style=\"border:0;display:block;\
         width:{width}px;height:{HEIGHT}px\" srcdoc=\"{escaped}\"></iframe>{MEASURE}</body></html>"
    )
}

/// Renders `html` (a self-contained page: it is copied alone into a temp dir) at
/// `width` × [`HEIGHT`]: a screenshot and the layout report.
///
/// # Panics
/// When chromium is missing, fails, hangs, or the page could not be measured.
pub(crate) fn render(html: &Path, width: u32) -> Rendered {
    let source = std::fs::read_to_string(html)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", html.display()));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.html");
    std::fs::write(&page, &source).unwrap();
    let measured = dir.path().join("measure.html");
    std::fs::write(&measured, with_measure(&source, width)).unwrap();

    let bytes = screenshot(dir.path(), "shot", &page, width);
    let stem = html
        .file_stem()
        .map_or("page".into(), |s| s.to_string_lossy());
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&keep).unwrap();
    let png_path = keep.join(format!("{stem}-{width}.png"));
    std::fs::write(&png_path, &bytes).unwrap();
    let png = parse_png(&bytes).unwrap_or_else(|e| {
        panic!(
            "the screenshot {} is not a valid PNG: {e}",
            png_path.display()
        )
    });

    let dom = chromium(
        dir.path(),
        "measure",
        width,
        &[
            format!("--virtual-time-budget={VIRTUAL_TIME_MS}"),
            "--dump-dom".to_owned(),
        ],
        &measured,
    );
    let layout =
        layout_from_dom(&dom).unwrap_or_else(|e| panic!("{} at {width} px: {e}", html.display()));
    assert_eq!(
        layout.viewport,
        u64::from(width),
        "the window is not {width} px wide inside the page, so the overflow check would mean nothing"
    );
    Rendered {
        width,
        png_path,
        png,
        layout,
    }
}

/// Everything wrong with a rendering: an empty list means it renders, has a
/// non-empty SVG and nothing overflows.
pub(crate) fn problems(r: &Rendered) -> Vec<String> {
    let mut out = Vec::new();
    let w = r.width;
    if r.png.width != w || r.png.height != HEIGHT {
        out.push(format!(
            "the screenshot is {}x{}, not {w}x{HEIGHT}",
            r.png.width, r.png.height
        ));
    }
    let blank = blank_idat(w);
    if r.png.idat < 2 * blank {
        out.push(format!(
            "the screenshot looks blank: {} bytes of image data, a blank page gives {blank}",
            r.png.idat
        ));
    }
    if r.layout.text_length == 0 {
        out.push("the page shows no text".to_owned());
    }
    if !r
        .layout
        .svgs
        .iter()
        .any(|s| s.drawables > 0 && s.width > 0 && s.height > 0)
    {
        out.push(format!(
            "no SVG with something drawn in it and a non-zero size: {:?}",
            r.layout.svgs
        ));
    }
    if r.layout.overflows() {
        out.push(format!(
            "it overflows the {w} px window: scroll width {}, {} elements past the edge: {}",
            r.layout.scroll_width,
            r.layout.overflow_count,
            r.layout.overflowing.join(", ")
        ));
    }
    out
}

/// Asserts that `html` renders at 375 and 1280 px with at least one non-empty SVG
/// and nothing wider than the window.
pub(crate) fn assert_report_renders(html: &Path) {
    for width in WIDTHS {
        let r = render(html, width);
        let p = problems(&r);
        assert!(
            p.is_empty(),
            "{} at {width} px (screenshot {}):\n  {}\nlayout: {}",
            html.display(),
            r.png_path.display(),
            p.join("\n  "),
            r.layout.json
        );
    }
}

#[test]
fn a_responsive_page_with_an_svg_renders_on_a_phone_and_a_desktop() {
    let page = crate::util::fixture("report/layout-ok.html");
    assert_report_renders(&page);
    let r = render(&page, 375);
    // No policy in this page: the probe script runs (so when the report's does not,
    // its policy stopped it).
    assert_eq!(r.layout.csp, None);
    assert!(r.layout.script_ran, "{}", r.layout.json);
    // The fixture's one SVG: three rects, a line and a path, scaled to the width
    // (375 - 2 × 16 px of padding) at the viewBox's 1000:60 ratio.
    assert_eq!(
        r.layout.svgs,
        vec![Svg {
            width: 343,
            height: 21,
            drawables: 5
        }]
    );
    assert_eq!(r.layout.scroll_width, 375);
}

#[test]
fn a_table_wider_than_a_phone_is_reported_as_overflowing() {
    let page = crate::util::fixture("report/layout-overflow.html");
    let r = render(&page, 375);
    assert!(r.layout.scroll_width > 2000, "{}", r.layout.json);
    assert!(r.layout.overflows());
    // Only the table is named, not every cell inside it.
    assert_eq!(r.layout.overflowing.len(), 1, "{}", r.layout.json);
    assert!(
        r.layout.overflowing[0].starts_with("table.wide right="),
        "{}",
        r.layout.json
    );
    let p = problems(&r);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("overflows the 375 px window"), "{p:?}");
    // And the assertion the report test uses fails on it.
    let caught = std::panic::catch_unwind(|| assert_report_renders(&page));
    let message = caught
        .expect_err("assert_report_renders accepted an overflowing page")
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(message.contains("overflows the 375 px window"), "{message}");
}

#[test]
fn a_page_without_a_drawn_svg_or_anything_painted_fails() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("empty-svg.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body><svg width=\"0\" height=\"0\"></svg></body></html>",
    )
    .unwrap();
    let r = render(&page, 1280);
    assert_eq!(
        r.layout.svgs,
        vec![Svg {
            width: 0,
            height: 0,
            drawables: 0
        }]
    );
    let p = problems(&r).join("\n");
    assert!(p.contains("no SVG with something drawn"), "{p}");
    assert!(p.contains("the screenshot looks blank"), "{p}");
    assert!(p.contains("the page shows no text"), "{p}");
    assert!(!p.contains("overflows"), "{p}");
}

#[test]
fn a_png_is_checked_chunk_by_chunk() {
    fn chunk(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(body);
        let crc = crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    }
    // CRC-32 of "123456789" is the standard check value.
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    let mut ihdr = 375u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&900u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[1, 2, 3]));
    png.extend(chunk(b"IDAT", &[4, 5]));
    png.extend(chunk(b"IEND", &[]));
    assert_eq!(
        parse_png(&png),
        Ok(Png {
            width: 375,
            height: 900,
            idat: 5
        })
    );
    let mut bad = png.clone();
    bad[8 + 8 + 2] ^= 1; // a bit of IHDR's width
    assert!(parse_png(&bad).unwrap_err().contains("bad CRC"));
    assert!(
        parse_png(&png[..png.len() - 12])
            .unwrap_err()
            .contains("no IEND")
    );
    assert!(parse_png(b"GIF89a").unwrap_err().contains("signature"));
}

#[test]
fn html_report_renders_on_a_phone_and_a_desktop() {
    let dir = tempfile::tempdir().unwrap();
    let html = crate::report::fixture_html_report(dir.path());
    assert_report_renders(&html);
    // The report draws a timeline per contract: more than one SVG, each drawn in.
    let r = render(&html, 375);
    assert!(r.layout.svgs.len() >= 2, "{}", r.layout.json);
}

#[test]
fn the_contract_summary_is_on_a_phones_first_screen_and_details_wrap_on_a_desktop() {
    let dir = tempfile::tempdir().unwrap();
    let html = crate::report::fixture_html_report(dir.path());
    let phone = render(&html, 375);
    let l = &phone.layout;
    assert!(!l.overflows(), "sideways scroll at 375 px: {}", l.json);
    let [top, bottom, right, scroll, client] = *l
        .verdicts
        .first()
        .unwrap_or_else(|| panic!("no summary box: {}", l.json));
    assert!(
        top >= 0 && bottom <= i64::from(HEIGHT),
        "the first contract's summary box is not on the first screen: {}",
        l.json
    );
    assert!(right <= 375 && scroll <= client, "{}", l.json);
    let desktop = render(&html, 1280);
    let l = &desktop.layout;
    assert!(!l.overflows(), "{}", l.json);
    assert!(!l.details.is_empty(), "no details cell: {}", l.json);
    for (scroll, client, inside) in &l.details {
        assert!(
            scroll <= client && *inside,
            "an incident's details are cut or scrolled out of view at 1280 px: {}",
            l.json
        );
    }
}

#[test]
fn the_report_states_a_strict_content_security_policy_and_keeps_its_styles_under_it() {
    let dir = tempfile::tempdir().unwrap();
    let html = crate::report::fixture_html_report(dir.path());
    let r = render(&html, 375);
    let l = &r.layout;
    assert_eq!(
        l.csp.as_deref(),
        Some("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"),
        "{}",
        l.json
    );
    // The policy is in force: an inline script in the page did not run.
    assert!(
        !l.script_ran,
        "a script ran under the report's policy: {}",
        l.json
    );
    // Its styles did apply: the first contract (breached) has its red verdict
    // border, and the timeline's <style> in the SVG coloured the up span green.
    assert_eq!(
        l.verdict_border.as_deref(),
        Some("6px solid rgb(198, 40, 40)"),
        "{}",
        l.json
    );
    assert_eq!(l.up_fill.as_deref(), Some("rgb(46, 125, 50)"), "{}", l.json);
    assert!(problems(&r).is_empty(), "{:?}", problems(&r));
}
