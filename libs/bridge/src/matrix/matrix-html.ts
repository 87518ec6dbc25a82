import { loadPackage } from '@openagentio/nestjs/internal/utils/load-package.js';

// What a Matrix client renders from `formatted_body` (the client-server spec's list of tags and attributes); an
// agent's HTML or Markdown is cut down to it before it reaches a room, so no script, style or foreign image does.
const TAGS = [
  'font', 'del', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'p', 'a', 'ul', 'ol', 'sup', 'sub', 'li', 'b', 'i',
  'u', 'strong', 'em', 'strike', 's', 'code', 'hr', 'br', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'caption',
  'pre', 'span', 'img', 'details', 'summary',
]; // prettier-ignore

type SanitizeFn = (html: string, options: Record<string, unknown>) => string;
type MarkedModule = { marked: { parse(src: string, options?: Record<string, unknown>): string | Promise<string> } };

let sanitizer: SanitizeFn | undefined;
let marked: MarkedModule | undefined;

async function sanitizerFn(): Promise<SanitizeFn> {
  if (!sanitizer) {
    const mod = (await loadPackage('sanitize-html', 'the Matrix bridge (HTML messages)', () => import('sanitize-html'))) as unknown as {
      default: SanitizeFn;
    };
    sanitizer = mod.default;
  }
  return sanitizer;
}

/** HTML as a Matrix client may render it: the spec's tags and attributes, http(s)/mailto links, mxc: images. */
export async function sanitizeMatrixHtml(html: string): Promise<string> {
  const sanitize = await sanitizerFn();
  return sanitize(html, {
    allowedTags: TAGS,
    allowedAttributes: {
      font: ['color', 'data-mx-bg-color', 'data-mx-color'],
      span: ['data-mx-bg-color', 'data-mx-color', 'data-mx-spoiler'],
      a: ['href', 'name', 'target'],
      img: ['width', 'height', 'alt', 'title', 'src'],
      ol: ['start'],
      code: ['class'],
    },
    allowedSchemes: ['http', 'https', 'ftp', 'mailto', 'magnet'],
    allowedSchemesByTag: { img: ['mxc'] },
    allowedClasses: { code: [/^language-[\w-]+$/] },
    transformTags: { a: (tagName: string, attribs: Record<string, string>) => ({ tagName, attribs: { ...attribs, rel: 'noopener' } }) },
    disallowedTagsMode: 'discard',
  });
}

/** Markdown rendered to sanitised Matrix HTML. */
export async function markdownToMatrixHtml(text: string): Promise<string> {
  marked ??= (await loadPackage(
    'marked',
    'the Matrix bridge (outbound_format: markdown)',
    () => import('marked'),
  )) as unknown as MarkedModule;
  const html = await marked.marked.parse(text, { async: false, gfm: true, breaks: true });
  return sanitizeMatrixHtml(html.trim());
}
