// Writes ESC/POS byte streams made by an independent implementation, the npm package esc-pos-encoder
// (a wrapper of @point-of-sale/receipt-printer-encoder, MIT, pinned in package-lock.json, installed by
// `make setup` into .venv/js), for tests/devices/test_devices_escpos_encoder.py to feed to our simulator.
//
//   node documents.cjs <node_modules folder> <output folder>
//
// One file per document, <name>.bin; the test knows what each one should print.
'use strict';

const fs = require('fs');
const path = require('path');

const [modules, out] = process.argv.slice(2);
const EscPosEncoder = require(path.join(modules, 'esc-pos-encoder'));

// A 64 x 48 RGBA picture: an 8 x 8 dot checkerboard in a black frame (the encoder's "object" image input)
function picture(width = 64, height = 48) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const frame = x < 2 || y < 2 || x >= width - 2 || y >= height - 2;
      const black = frame || ((x >> 3) + (y >> 3)) % 2 === 0;
      const i = (y * width + x) * 4;
      data[i] = data[i + 1] = data[i + 2] = black ? 0 : 255;
      data[i + 3] = 255;
    }
  }
  return {data, width, height};
}

const documents = {
  // code pages: the encoder picks ESC t n per code page and encodes the text in it
  'text': (e) => e.initialize()
      .codepage('cp858').line('Käse € 2,50')
      .codepage('cp437').line('Grüße: ä ö ü ß Ä Ö Ü')
      .codepage('windows1252').line('Preis €9,99 – Straße')
      .codepage('cp850').line('Smørrebrød Ærø')
      .codepage('auto').line('Auto: Öl €1 ñ')
      .cut(),
  // styles and alignment
  'styles': (e) => e.initialize().codepage('cp858')
      .text('plain ').bold(true).text('bold').bold(false).newline()
      .underline(true).text('underlined').underline(false).newline()
      .invert(true).text('inverted').invert(false).newline()
      .size(2, 2).line('BIG').size(1, 1)
      .width(2).line('wide').width(1)
      .height(3).line('tall').height(1)
      .align('center').line('centred')
      .align('right').line('right')
      .align('left').line('left again')
      .rule()
      .table([{width: 20, align: 'left'}, {width: 21, align: 'right'}], [['Milch 1 L', '1,19 €'], ['Summe', '1,19 €']])
      .cut(),
  'barcodes': (e) => e.initialize()
      .line('EAN-13:')
      .barcode('3130630574613', 'ean13', 60)
      .line('Code 128:')
      .barcode('ABC-123abc', 'code128', {height: 80, width: 3, text: true})
      .align('center')
      .barcode('4006381333931', 'ean13', {height: 50, text: true})
      .align('left')
      .cut(),
  'qrcode': (e) => e.initialize()
      .line('QR:')
      .qrcode('https://example.com/r/ABC123', 2, 6, 'm')
      .align('center')
      .qrcode('BOOKING:DEMO1234', {model: 2, size: 4, errorlevel: 'h'})
      .align('left')
      .cut(),
  'image-column': (e) => e.initialize().line('image (ESC *):').image(picture(), 64, 48).line('after').cut(),
  'image-raster': (e) => e.initialize().line('image (GS v 0):').image(picture(), 64, 48).line('after').cut(),
};

// Every character of the Western and Central European pages the kiosk's languages need, one file per
// page, with the text the encoder was given beside it (<name>.txt) for the test to compare.
const CodepageEncoder = require(path.join(modules, '@point-of-sale/codepage-encoder'));
const PAGES = ['cp437', 'cp850', 'cp858', 'cp852', 'cp857', 'cp860', 'cp863', 'cp865', 'windows1252', 'windows1250',
  'iso8859-15'];
const texts = {};
for (const page of PAGES) {
  const points = CodepageEncoder.getCodepoints(page);
  let text = '';
  for (let b = 0xA0; b < 0x100; b++) {  // above the C1 range, where every page listed here has characters
    if (points[b] !== undefined && points[b] !== null) text += String.fromCodePoint(points[b]);
  }
  for (let b = 0x80; b < 0xA0; b++) {
    if (points[b] !== undefined && points[b] !== null && points[b] >= 0xA0) text += String.fromCodePoint(points[b]);
  }
  texts[`page-${page}`] = text;
  documents[`page-${page}`] = (e) => e.initialize().codepage(page).line(text).cut();
}

const options = {'image-raster': {imageMode: 'raster'}, 'image-column': {imageMode: 'column'}};

fs.mkdirSync(out, {recursive: true});
for (const [name, build] of Object.entries(documents)) {
  const encoder = new EscPosEncoder(Object.assign({columns: 42}, options[name] || {}));
  fs.writeFileSync(path.join(out, `${name}.bin`), Buffer.from(build(encoder).encode()));
}
fs.writeFileSync(path.join(out, 'pages.json'), JSON.stringify(texts));
