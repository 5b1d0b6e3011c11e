// Stable short ids for templates: a 53-bit string hash (cyrb53, public domain) of the template
// text, as 12 hex digits. The same template text gets the same id in every run and on every
// machine; ids do not depend on line order or on other templates.

export function templateId(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hi = (h2 & 0x1fffff) >>> 0; // 21 bits
  const lo = h1 >>> 0; // 32 bits
  return (hi.toString(16).padStart(6, '0') + lo.toString(16).padStart(8, '0')).slice(-12);
}
