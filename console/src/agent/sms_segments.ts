/** How many SMS segments a text takes: GSM-7 160/153 characters, UCS-2 70/67. */
const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENDED = "^{}\\[~]|€\f";

export interface SegmentCount {
  encoding: "GSM-7" | "UCS-2";
  units: number;
  segments: number;
  perSegment: number;
}

export function countSegments(text: string): SegmentCount {
  let units = 0;
  let gsm = true;
  for (const ch of text) {
    if (GSM_BASIC.includes(ch)) units += 1;
    else if (GSM_EXTENDED.includes(ch)) units += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (!gsm) {
    // UCS-2 counts UTF-16 code units (an emoji is two).
    units = text.length;
    const perSegment = units <= 70 ? 70 : 67;
    return { encoding: "UCS-2", units, segments: units === 0 ? 0 : Math.ceil(units / perSegment), perSegment };
  }
  const perSegment = units <= 160 ? 160 : 153;
  return { encoding: "GSM-7", units, segments: units === 0 ? 0 : Math.ceil(units / perSegment), perSegment };
}
