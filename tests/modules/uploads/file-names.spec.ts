import { contentDisposition } from '../../../src/common/http/content-disposition';
import { downloadName, MAX_NAME_LENGTH, sanitizeFileName } from '../../../src/modules/uploads/file-names';

describe('upload file names', () => {
  it.each([
    ['../../x.png', 'x.png'],
    ['..\\..\\x.png', 'x.png'],
    ['/etc/passwd', 'passwd'],
    ['C:\\Windows\\evil.png', 'evil.png'],
    ['a\u0000b.png', 'ab.png'],
    ['..', 'upload.png'],
    ['', 'upload.png'],
    ['.hidden.png', 'hidden.png'],
    ['...png', 'png'],
    ['a"b<c>|d?*:.png', 'a_b_c__d___.png'],
    ['photo\u202egnp.exe', 'photognp.exe'],
    ['  spaced   name .png ', 'spaced name .png'],
    ['line\r\nX-Evil: 1.png', 'lineX-Evil_ 1.png'],
    ['가족 사진.jpg', '가족 사진.jpg'],
    ['\u1100\u1161.png', '\uac00.png'], // decomposed Hangul is normalised (NFC)
  ])('%j → %j', (raw, safe) => {
    expect(sanitizeFileName(raw, 'png')).toBe(safe);
  });

  it('shortens very long names to MAX_NAME_LENGTH characters, keeping the extension', () => {
    const safe = sanitizeFileName(`${'가'.repeat(500)}.jpeg`, 'jpeg');
    expect([...safe]).toHaveLength(MAX_NAME_LENGTH);
    expect(safe.endsWith('가.jpeg')).toBe(true);
    expect(sanitizeFileName(undefined, 'jpeg')).toBe('upload.jpg');
  });

  it('offers downloads with the extension of the real format', () => {
    expect(downloadName('cat.png', 'png')).toBe('cat.png');
    expect(downloadName('cat.JPEG', 'jpeg')).toBe('cat.JPEG');
    expect(downloadName('cat.exe', 'png')).toBe('cat.exe.png');
    expect(downloadName('cat', 'webp')).toBe('cat.webp');
  });

  it('writes RFC 6266 Content-Disposition with an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('가족 사진.jpg')).toBe(
      `inline; filename="__ __.jpg"; filename*=UTF-8''%EA%B0%80%EC%A1%B1%20%EC%82%AC%EC%A7%84.jpg`,
    );
    expect(contentDisposition("it's (1)%.png", 'attachment')).toBe(
      `attachment; filename="it's (1)_.png"; filename*=UTF-8''it%27s%20%281%29%25.png`,
    );
  });
});
