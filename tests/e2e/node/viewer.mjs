// Opens a Darkroom viewer page in Debian's headless Chromium, the way a visitor would,
// and reports what rendered: whether the media loaded (naturalWidth / readyState), the
// share codes shown, and a screenshot kept as a test artifact.
//
// Env: DARKROOM_VIEWER_URL   page to open
//      DARKROOM_SCREENSHOT   where to write the PNG
//      CHROMIUM              browser binary (default /usr/bin/chromium)
//
// Prints one JSON line and exits 0; exits 2 with the reason on stderr if it cannot run.

import { chromium } from 'playwright-core';

const url = process.env.DARKROOM_VIEWER_URL;
const screenshot = process.env.DARKROOM_SCREENSHOT;
if (!url || !screenshot) {
  console.error('DARKROOM_VIEWER_URL and DARKROOM_SCREENSHOT must be set');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // The machine has no network beyond loopback: keep Chromium from dialling out.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const response = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  const report = await page.evaluate(async () => {
    const img = document.querySelector('main img');
    const video = document.querySelector('main video');
    if (video) {
      // Wait until the browser has the video's first frame metadata, or gives up.
      await new Promise((resolve) => {
        if (video.readyState >= 1) return resolve();
        video.addEventListener('loadedmetadata', resolve, { once: true });
        video.addEventListener('error', resolve, { once: true });
        setTimeout(resolve, 10_000);
      });
    }
    return {
      title: document.title,
      img: img && { src: img.currentSrc, naturalWidth: img.naturalWidth, complete: img.complete },
      video: video && {
        poster: video.poster,
        sources: [...video.querySelectorAll('source')].map((s) => s.src),
        readyState: video.readyState,
        videoWidth: video.videoWidth,
      },
      codes: [...document.querySelectorAll('textarea, input[readonly]')].map((e) => e.value),
      text: document.body.innerText,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ status: response.status(), ...report }));
} finally {
  await browser.close();
}
