// pa11y with the HTML_CodeSniffer runner (WCAG2AA) on one URL, in Debian's Chromium.
// Usage: node run.mjs URL [COOKIE_HEADER]   Prints pa11y's issues as JSON on stdout.
import pa11y from "pa11y";

const [url, cookie] = process.argv.slice(2);
if (!url) {
  console.error("usage: node run.mjs URL [COOKIE_HEADER]");
  process.exit(2);
}
const results = await pa11y(url, {
  runners: ["htmlcs"],
  standard: "WCAG2AA",
  includeWarnings: false,
  includeNotices: false,
  timeout: 30000,
  headers: cookie ? { Cookie: cookie } : {},
  chromeLaunchConfig: {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // The flags the browser suite uses (e2e/conftest.py CHROMIUM_ARGS, passed by e2e/a11y.py).
    args: JSON.parse(process.env.CHROMIUM_ARGS || "[]"),
  },
});
process.stdout.write(JSON.stringify(results.issues));
