// The feed bar's content script, on http(s) pages: mounts the bar in a Shadow Root where the user
// allows it (sites.ts) and feeds it from the background service worker over a port — a page never
// opens a stream of its own. Rendering follows the page's visibility and animation frames: a
// background tab keeps its rows current but renders only when it is shown again.
//
// The Shadow Root is open. Closed would hide the bar's text from the page's scripts, but what the bar
// holds is public market data and scores the user chose to show on this page, and a page owns its
// pixels: it can draw over any bar, closed or not. An open root keeps the bar reachable by the tools
// a user may rely on (accessibility checkers, translators, automation, this project's own tests).
// Isolation of styles, which is what the bar needs, is the same either way. What open would let a
// page do beyond reading — dispatch clicks or keys at the bar's controls — is stopped at the root:
// only the user's own (trusted) input reaches them. Otherwise the script listens to no page event
// but `visibilitychange`, to no window.postMessage, and renders the feed as text only.

import { flushSync } from "react-dom";
import { createRoot, type Root } from "react-dom/client";

import { type Preferences, PREFERENCES_KEY, readPreferences } from "../../../web/shared/preferences";
import { preferences as loadPreferences } from "../settings";
import { PORT_RETRY_MS } from "../state";
import { Bar } from "./Bar";
import { FrameScheduler } from "./frames";
import { applyBarMessage, type BarModel, emptyModel } from "./model";
import { BAR_PORT, type BarMessage, SITE_REQUEST, type SiteAnswer } from "./protocol";
import { BAR_SETTINGS_KEY, type BarSettings, loadBarSettings, readBarSettings, updateBarSettings } from "./settings";
import { barAllowedOn } from "./sites";

declare const __BAR_CSS__: string;

const HOST_TAG = "scrollr-feed-bar";
/** The input the bar's controls act on; the page's made-up events of these kinds stop at the root. */
const INPUT_EVENTS = ["click", "dblclick", "mousedown", "mouseup", "pointerdown", "pointermove", "pointerup", "pointercancel", "keydown", "keyup", "input", "change"];
const COLLAPSED_HEIGHT = 32;

let staticSheet: CSSStyleSheet | null = null;
function barSheet(): CSSStyleSheet {
  // A constructed sheet, not a <style>: a page's CSP (style-src) governs neither, but adopting one
  // sheet is also cheaper than parsing text per bar.
  if (staticSheet === null) {
    staticSheet = new CSSStyleSheet();
    staticSheet.replaceSync(__BAR_CSS__);
  }
  return staticSheet;
}

/** Before React's listeners (on the container inside the root) see it: drop what a script made up. */
function stopUntrusted(event: Event): void {
  if (!event.isTrusted) event.stopImmediatePropagation();
}

/** What push mode changed on <html>, to put it back as it was. */
interface Pushed {
  property: string;
  value: string;
  priority: string;
}

class FeedBar {
  private readonly host = document.createElement(HOST_TAG);
  private readonly geometry = new CSSStyleSheet();
  private readonly root: Root;
  private readonly model: BarModel = emptyModel();
  private port: chrome.runtime.Port | null = null;
  private workerUp = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly frames = new FrameScheduler(
    { hidden: () => document.hidden, requestFrame: (callback) => requestAnimationFrame(callback), cancelFrame: (id) => cancelAnimationFrame(id) },
    () => this.render(),
  );
  private dragHeight: number | null = null;
  private pushed: Pushed | null = null;
  private mounted = true;

  constructor(
    private settings: BarSettings,
    private preferences: Preferences,
  ) {
    const shadow = this.host.attachShadow({ mode: "open" });
    shadow.adoptedStyleSheets = [barSheet(), this.geometry];
    for (const type of INPUT_EVENTS) shadow.addEventListener(type, stopUntrusted, { capture: true });
    const container = document.createElement("div");
    container.style.height = "100%"; // CSSOM, not an attribute: allowed under any CSP
    shadow.append(container);
    this.root = createRoot(container);
    // On <html>, not <body>, and in the top layer (a manual popover: no light dismiss): a transform,
    // filter or `contain` on the page's <html> or <body> would make it, not the viewport, the fixed
    // bar's containing block, and the bar would scroll away with the page.
    document.documentElement.append(this.host);
    this.host.popover = "manual";
    this.host.showPopover();
    document.addEventListener("visibilitychange", this.onVisibility);
    this.layout();
    this.connect();
    this.schedule();
  }

  /** False once the page took the bar's element out of the document. */
  get inDocument(): boolean {
    return this.host.isConnected;
  }

  update(settings: BarSettings, preferences: Preferences): void {
    this.settings = settings;
    this.preferences = preferences;
    this.dragHeight = null;
    this.layout();
    this.schedule();
  }

  unmount(): void {
    this.mounted = false;
    clearTimeout(this.retry);
    this.frames.cancel();
    this.port?.disconnect(); // the background stops feeding a bar that is gone
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.root.unmount();
    this.host.remove();
    this.unpush();
  }

  private connect(): void {
    let port: chrome.runtime.Port;
    try {
      port = chrome.runtime.connect({ name: BAR_PORT });
    } catch {
      return; // the extension was reloaded or removed: this script is orphaned and stays quiet
    }
    this.port = port;
    port.onMessage.addListener((message: BarMessage) => {
      applyBarMessage(this.model, message);
      this.workerUp = true;
      this.schedule();
    });
    // The worker was stopped (MV3 stops idle workers) or restarted: say so, and connect again,
    // which starts it; it resumes its stream from the stored cursor.
    port.onDisconnect.addListener(() => {
      this.port = null;
      this.workerUp = false;
      this.schedule();
      if (this.mounted) this.retry = setTimeout(() => this.connect(), PORT_RETRY_MS);
    });
  }

  private readonly onVisibility = () => this.frames.visibilityChanged();

  private schedule(): void {
    this.frames.schedule();
  }

  private render(): void {
    flushSync(() =>
      this.root.render(
        <Bar
          model={this.model}
          workerUp={this.workerUp}
          settings={this.settings}
          preferences={this.preferences}
          onSettings={(change) => void updateBarSettings(() => change).catch((error) => console.warn("Scrollr: the feed bar's setting was not saved", error))}
          onDragHeight={(height) => {
            this.dragHeight = height;
            this.layout();
          }}
        />,
      ),
    );
  }

  private height(): number {
    return this.settings.collapsed ? COLLAPSED_HEIGHT : (this.dragHeight ?? this.settings.height);
  }

  /** The host's place (an inner-context sheet: the page's `!important` rules can't move it) and, in
   * push mode, the room reserved for it at that edge of the page. */
  private layout(): void {
    const { edge } = this.settings;
    const height = this.height();
    this.geometry.replaceSync(
      `:host { display: block !important; position: fixed !important; left: 0 !important; right: 0 !important;` +
        ` ${edge}: 0 !important; height: ${height}px !important; z-index: 2147483647 !important; }`,
    );
    this.unpush();
    if (this.settings.layout === "push") this.push(edge === "top" ? "margin-top" : "margin-bottom", `${height}px`);
  }

  private push(property: string, value: string): void {
    const style = document.documentElement.style;
    this.pushed = { property, value: style.getPropertyValue(property), priority: style.getPropertyPriority(property) };
    style.setProperty(property, value, "important"); // an inline !important outranks the page's sheets
  }

  private unpush(): void {
    if (this.pushed === null) return;
    const { property, value, priority } = this.pushed;
    const style = document.documentElement.style;
    if (value) style.setProperty(property, value, priority);
    else style.removeProperty(property);
    this.pushed = null;
  }
}

async function main(): Promise<void> {
  // http(s) also serves XML and SVG documents, where an element can't hold a Shadow Root.
  if (!(document.documentElement instanceof HTMLHtmlElement)) return;
  if (document.querySelector(HOST_TAG)) return; // a bar of an earlier copy of this script is here
  let settings = await loadBarSettings();
  let preferences = await loadPreferences();
  let bar: FeedBar | null = null;
  const apply = () => {
    const show = barAllowedOn(settings, location.hostname) && settings.categories.length > 0;
    if (show && bar === null) bar = new FeedBar(settings, preferences);
    else if (!show && bar !== null) {
      bar.unmount();
      bar = null;
    } else bar?.update(settings, preferences);
  };
  // A page that takes the bar out has it gone, not running unseen: its port is closed (the background
  // stops feeding it) and push mode's margin given back. A change of settings may bring it back.
  new MutationObserver(() => {
    if (bar !== null && !bar.inDocument) {
      bar.unmount();
      bar = null;
    }
  }).observe(document.documentElement, { childList: true });
  // Every setting and preference is applied to every open page at once.
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== "sync") return;
    if (BAR_SETTINGS_KEY in changes) settings = readBarSettings(changes[BAR_SETTINGS_KEY].newValue);
    if (PREFERENCES_KEY in changes) preferences = readPreferences(changes[PREFERENCES_KEY].newValue);
    if (BAR_SETTINGS_KEY in changes || PREFERENCES_KEY in changes) apply();
  });
  // The popup's "this site" switch asks which site this is. Only the extension can send this (a
  // page's messages never reach chrome.runtime.onMessage); anything else is ignored.
  chrome.runtime.onMessage.addListener((message: unknown, sender, reply: (answer: SiteAnswer) => void) => {
    if (sender.id !== chrome.runtime.id || (message as { type?: unknown } | null)?.type !== SITE_REQUEST) return;
    reply({ host: location.hostname });
  });
  apply();
}

void main();
