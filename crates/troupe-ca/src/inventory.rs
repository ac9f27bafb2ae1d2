//! `inventory.txt` and `serial`: one inventory line per issued certificate, written with one
//! `write()` on an `O_APPEND` descriptor so a crash can tear at most the last line, which
//! `repair_inventory` drops on open; the serial is allocated (and made durable) before a
//! certificate is signed, so a crash can skip serials but never repeat one.

use crate::x509::puppet_date;
use crate::{Ca, CaError, CaResult};
use ::time::OffsetDateTime;
use std::fs::{self, OpenOptions};
use std::io::Write;

/// The inventory line of a certificate: `0x0002 <not before> <not after> /CN=<cn>\n`.
pub(crate) fn line(serial: u64, nb: OffsetDateTime, na: OffsetDateTime, cn: &str) -> String {
    format!(
        "0x{serial:04X} {} {} /CN={cn}\n",
        puppet_date(nb),
        puppet_date(na)
    )
}

/// The number a `serial` file or key holds (hex, Puppet's format).
pub(crate) fn parse_serial(text: &str) -> CaResult<u64> {
    u64::from_str_radix(text.trim(), 16).map_err(|_| {
        CaError::new(
            500,
            format!("The serial file holds '{}', not a hex number", text.trim()),
        )
    })
}

/// The serial of an inventory line `0x<hex> <date> <date> /<subject>`; `None` when it is not one.
pub(crate) fn parse_line(line: &str) -> Option<u64> {
    let mut it = line.splitn(4, ' ');
    let serial = u64::from_str_radix(it.next()?.strip_prefix("0x")?, 16).ok()?;
    let date = |s: &str| {
        let b = s.as_bytes();
        // `2026-01-01T00:00:00UTC` (an older CA may have written another zone name).
        (20..=25).contains(&b.len())
            && b[19..].iter().all(u8::is_ascii_alphabetic)
            && b[4] == b'-'
            && b[10] == b'T'
            && b[..19]
                .iter()
                .enumerate()
                .all(|(i, c)| matches!(i, 4 | 7 | 10 | 13 | 16) || c.is_ascii_digit())
    };
    (date(it.next()?) && date(it.next()?) && it.next()?.starts_with('/')).then_some(serial)
}

impl Ca {
    pub(crate) fn append_inventory(
        &self,
        serial: u64,
        nb: OffsetDateTime,
        na: OffsetDateTime,
        cn: &str,
    ) -> CaResult<()> {
        let line = line(serial, nb, na, cn);
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path("inventory.txt"))
            .map_err(|e| CaError::io("cannot open the inventory", e))?;
        // One write() of the whole line (a regular file takes it whole unless the disk fills).
        let n = f
            .write(line.as_bytes())
            .map_err(|e| CaError::io("cannot write the inventory", e))?;
        if n != line.len() {
            return Err(CaError::new(
                500,
                format!(
                    "cannot write the inventory: only {n} of {} bytes written",
                    line.len()
                ),
            ));
        }
        f.sync_all()
            .map_err(|e| CaError::io("cannot write the inventory", e))
    }

    /// Drops a torn last inventory line (no final newline, or not an inventory line), with
    /// the lock held. Returns what it repaired.
    pub(crate) fn repair_inventory(&self) -> CaResult<Option<String>> {
        let path = self.path("inventory.txt");
        let data = fs::read(&path).map_err(|e| CaError::io("cannot read inventory.txt", e))?;
        if data.is_empty() {
            return Ok(None);
        }
        let body = data.strip_suffix(b"\n").unwrap_or(&data);
        let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let last = &data[start..];
        let whole = last.ends_with(b"\n")
            && std::str::from_utf8(&last[..last.len() - 1])
                .ok()
                .and_then(parse_line)
                .is_some();
        if whole {
            return Ok(None);
        }
        let mut kept = data[..start].to_vec();
        if !kept.is_empty() && !kept.ends_with(b"\n") {
            kept.push(b'\n');
        }
        self.write_bytes("inventory.txt", &kept)?;
        Ok(Some(format!(
            "inventory.txt: dropped a torn last line ({:?})",
            String::from_utf8_lossy(last)
        )))
    }

    /// The highest serial the inventory lists.
    fn inventory_max_serial(&self) -> u64 {
        fs::read_to_string(self.path("inventory.txt"))
            .unwrap_or_default()
            .lines()
            .filter_map(parse_line)
            .max()
            .unwrap_or(0)
    }

    fn read_serial(&self) -> CaResult<u64> {
        parse_serial(&self.read("serial")?)
    }

    /// Moves `serial` past every serial the inventory lists (a `serial` file restored from an
    /// older copy must not hand out a serial again). With the lock held.
    pub(crate) fn repair_serial(&self) -> CaResult<Option<String>> {
        let n = self.read_serial()?;
        let max = self.inventory_max_serial();
        if n > max {
            return Ok(None);
        }
        self.write("serial", &format!("{:04X}", max + 1))?;
        Ok(Some(format!(
            "serial: held {n:04X}, but the inventory lists {max:04X}; now {:04X}",
            max + 1
        )))
    }

    /// Allocates the next serial (call with the lock held): the next one is durable on disk
    /// before this one is used.
    pub(crate) fn next_serial(&self) -> CaResult<u64> {
        let n = self.read_serial()?;
        self.write("serial", &format!("{:04X}", n + 1))?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn inventory_lines_are_recognised() {
        assert_eq!(
            parse_line("0x0002 2026-01-01T00:00:00UTC 2031-01-01T00:00:00UTC /CN=a.example.test"),
            Some(2)
        );
        assert_eq!(parse_line("0x0002 2026-01-01T00:00:00UTC 2031-01-0"), None);
        assert_eq!(parse_line("0x0002 2026-01-01T00:00:00UTC"), None);
        assert_eq!(parse_line("\0\0\0\0"), None);
        assert_eq!(parse_line(""), None);
    }
}
