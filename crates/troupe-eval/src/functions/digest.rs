//! Digests (`md5`, `sha1`, `sha256`) and `fqdn_rand`'s deterministic random numbers (Ruby's
//! MT19937 seeded from an MD5 digest, as Puppet 7 does on non-FIPS hosts).

use md5::Digest;

pub fn hex(algo: &str, data: &[u8]) -> String {
    let bytes: Vec<u8> = match algo {
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        _ => md5::Md5::digest(data).to_vec(),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Mt {
    state: [u32; 624],
    index: usize,
}

impl Mt {
    fn init_genrand(s: u32) -> Mt {
        let mut state = [0u32; 624];
        state[0] = s;
        for i in 1..624 {
            state[i] = 1812433253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt { state, index: 624 }
    }

    fn init_by_array(key: &[u32]) -> Mt {
        let mut mt = Mt::init_genrand(19650218);
        let n = 624usize;
        let (mut i, mut j) = (1usize, 0usize);
        let mut k = n.max(key.len());
        while k > 0 {
            let prev = mt.state[i - 1];
            mt.state[i] = (mt.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= n {
                mt.state[0] = mt.state[n - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
            k -= 1;
        }
        k = n - 1;
        while k > 0 {
            let prev = mt.state[i - 1];
            mt.state[i] = (mt.state[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1566083941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= n {
                mt.state[0] = mt.state[n - 1];
                i = 1;
            }
            k -= 1;
        }
        mt.state[0] = 0x8000_0000;
        mt
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
                let mut v = self.state[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.state[i] = v;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// Ruby's `limited_rand`: a value in 0..=limit.
    fn limited(&mut self, limit: u64) -> u64 {
        if limit == 0 {
            return 0;
        }
        let mut mask = limit;
        for s in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> s;
        }
        loop {
            let mut val: u64 = 0;
            let mut retry = false;
            for i in (0..2).rev() {
                if (mask >> (i * 32)) & 0xffff_ffff != 0 {
                    val |= (self.next_u32() as u64) << (i * 32);
                    val &= mask;
                    if limit < val {
                        retry = true;
                        break;
                    }
                }
            }
            if !retry {
                return val;
            }
        }
    }
}

/// `fqdn_rand(max, seed)`.
pub fn fqdn_rand(fqdn: &str, max: i64, seed: Option<&str>) -> i64 {
    seeded_rand(&format!("{fqdn}:{max}:{}", seed.unwrap_or("")), max)
}

/// Puppet's `deterministic_rand`: Ruby's `Random.new(MD5(text) as an integer).rand(max)`.
pub fn seeded_rand(text: &str, max: i64) -> i64 {
    if max <= 0 {
        return 0;
    }
    let digest = md5::Md5::digest(text.as_bytes());
    // The 128-bit number, as little-endian 32-bit words, without leading zero words.
    let mut words: Vec<u32> = digest
        .chunks(4)
        .rev()
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    while words.len() > 1 && words.last() == Some(&0) {
        words.pop();
    }
    let mut mt = Mt::init_by_array(&words);
    mt.limited((max - 1) as u64) as i64
}
