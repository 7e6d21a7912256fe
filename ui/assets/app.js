// Maniwani's pages work without this script; it adds live thread updates,
// quote previews, inline quotes and files, the quick reply, relative times
// and (You) marks. Plain modern JavaScript, no dependencies, no build step.
'use strict';

// postHTML is a post from the JSON (4chan's fields) in the markup that
// ui/post.go writes for it on a thread page, byte for byte (a test holds
// them to it): b is its board, ph and sp the URLs of the placeholders of a
// thumbnail not made yet and of a spoiler. The JSON does not say whether
// the thumbnail exists, so it is written as one being made, which the
// page swaps in once it loads. Outside the page's closure, so that a test
// can call it; it touches no DOM.
const postHTML = (() => {
  const ent = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };
  const esc = s => String(s ?? '').replace(/[&<>"']/g, c => ent[c]);
  // As humanSize: 512 B, 34 KB, 1.2 MB (to one decimal, a tie to even, as Go's strconv).
  const sizeOf = n => {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return Math.floor((n + 512) / 1024) + ' KB';
    const x = n * 10 / 1048576; // exact: n*10 is below 2^53 and 2^20 a power of two
    let r = Math.floor(x);
    if (x - r > 0.5 || (x - r === 0.5 && r % 2)) r++;
    return Math.floor(r / 10) + '.' + (r % 10) + ' MB';
  };
  // As fit: w x h scaled into a square of 250, or 100 x 100 without a size.
  const fit = (w, h) => {
    if (!(w > 0 && h > 0)) return [100, 100];
    if (w <= 250 && h <= 250) return [w, h];
    return w >= h ? [250, Math.floor((h * 250 + Math.floor(w / 2)) / w)] : [Math.floor((w * 250 + Math.floor(h / 2)) / h), 250];
  };
  return (p, b, ph, sp) => {
    const t = p.resto || p.no, href = esc(`/${b}/thread/${t}#p${p.no}`);
    const iso = new Date(p.time * 1000).toISOString().replace('.000Z', 'Z');
    let h = `<div class="${p.resto ? 'p' : 'p op'}" id="p${p.no}">\n<div class="ph">` +
      (p.sub ? `<span class="su">${esc(p.sub)}</span> ` : '') + `<span class="na">${esc(p.name)}</span>` +
      (p.trip ? ` <span class="tr">${esc(p.trip)}</span>` : '') + (p.id ? ` <span class="id">ID:${esc(p.id)}</span>` : '') +
      ` <time datetime="${iso}">${esc(p.now)}</time> <a href="${href}" class="no">No.${p.no}</a>` +
      (p.sticky ? ' <span class="ic">Sticky</span>' : '') + (p.closed ? ' <span class="ic">Closed</span>' : '') + '</div>\n';
    // A file (the post's own fields, or one of extra_files) as writeFile does.
    const file = f => {
      const base = `/media/${b}/${f.tim}`, url = esc(base + f.ext);
      const [w, hh] = f.tn_w > 0 && f.tn_h > 0 && f.tn_w <= 250 && f.tn_h <= 250 ? [f.tn_w, f.tn_h] : fit(f.w, f.h);
      const img = f.spoiler ? `<img src="${esc(sp)}" width="100" height="100" alt="Spoiler" loading="lazy">`
        : `<img src="${esc(ph)}" width="${w}" height="${hh}" alt="Thumbnail" loading="lazy" data-w="${esc(base + 's.jpg')}">`;
      // As shortName: a name of over 30 characters shows its first 25, the whole in the title.
      const cs = [...(f.filename ?? '')], name = cs.length > 30
        ? `" title="${esc(f.filename)}${esc(f.ext)}">${esc(cs.slice(0, 25).join(''))}(...)` : `">${esc(f.filename)}`;
      return `<div class="fi">File: <a href="${url}" target="_blank${name}${esc(f.ext)}</a> ` +
        `(${sizeOf(f.fsize || 0)}, ${f.w || 0}×${f.h || 0})</div><a href="${url}" class="fl" target="_blank">${img}</a>\n`;
    };
    if (p.ext && !(p.extra_files || []).length) h += file(p);
    else if (p.ext) h += '<div class="fs">' + [p, ...p.extra_files].map(f => '<div class="fx">' + file(f) + '</div>').join('') + '</div>\n';
    return h + `<blockquote>${p.com || ''}</blockquote>\n</div>\n`; // com is the server's safe HTML
  };
})();

(() => {
  const d = document, body = d.body;
  const K = body.dataset.k, B = body.dataset.b || '', T = +body.dataset.t || 0;
  // The placeholders of a thumbnail not made yet and of a spoiler.
  const { ph: PH, sp: SP } = d.currentScript.dataset;
  const $ = (s, r = d) => r.querySelector(s), $$ = (s, r = d) => r.querySelectorAll(s);
  const noOf = el => +el.id.slice(1);

  // localStorage, which private windows may refuse.
  const store = {
    get(k, def) { try { const v = localStorage.getItem('mw.' + k); return v == null ? def : JSON.parse(v); } catch { return def; } },
    set(k, v) { try { localStorage.setItem('mw.' + k, JSON.stringify(v)); } catch { /* not kept */ } },
  };

  // Your own posts, as "board/no", the newest 1000.
  let own = new Set(store.get('own', []));
  const mine = (b, no) => own.has(b + '/' + no);
  const addOwn = (b, no) => { own.add(b + '/' + no); store.set('own', [...own].slice(-1000)); };
  addEventListener('storage', e => { if (e.key === 'mw.own') own = new Set(store.get('own', [])); });

  // The password that lets you delete your posts: made once, kept here.
  function password() {
    let p = store.get('pwd', '');
    if (!p) {
      const a = crypto.getRandomValues(new Uint8Array(12));
      p = Array.from(a, x => x.toString(16).padStart(2, '0')).join('');
      store.set('pwd', p);
    }
    return p;
  }
  const setPassword = f => {
    const i = f.elements.pwd;
    if (i) { i.value = password(); const row = i.closest('.pw'); if (row) row.hidden = true; }
  };

  // Relative times, or the exact local ones: a click on a time switches
  // between them, remembered; the other is in the tooltip.
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
  function rel(t) {
    const s = (Date.now() - t) / 1000;
    for (const [u, n] of units) if (s >= n) return rtf.format(-Math.floor(s / n), u);
    return 'just now';
  }
  let exact = store.get('exactTimes', false);
  function times(root) {
    body.classList.add('tz'); // the times are the reader's own now, not UTC
    for (const el of $$('.ph time[datetime]', root)) {
      const t = Date.parse(el.dateTime), local = new Date(t).toLocaleString();
      el.title = (exact ? rel(t) : local) + ' (click: ' + (exact ? 'relative' : 'exact') + ' times)';
      el.textContent = exact ? local : rel(t);
    }
  }
  d.addEventListener('click', e => {
    if (!e.target.matches?.('.ph time')) return;
    exact = !exact;
    store.set('exactTimes', exact);
    times(d);
  });

  // A thumbnail still being made: try it now and then, swap it in once it exists.
  function waitThumb(img, tries = 0) {
    const src = img.dataset.w;
    if (!src) return;
    const probe = new Image();
    probe.onload = () => { img.src = probe.src; delete img.dataset.w; };
    probe.onerror = () => { if (tries < 30) setTimeout(() => waitThumb(img, tries + 1), 1000 * Math.min(tries + 1, 5)); };
    probe.src = tries ? src + '?r=' + tries : src;
  }

  // A quote link's target: board, thread and post number.
  function target(a) {
    const u = new URL(a.href, location.href);
    const m = u.pathname.match(/^\/(\w+)\/thread\/(\d+)$/), n = u.hash.match(/^#p(\d+)$/);
    return m && n ? { b: m[1], t: +m[2], no: +n[1] } : null;
  }

  // A post from the JSON, as an element of this page.
  function render(p, b) {
    const t = d.createElement('template');
    t.innerHTML = postHTML(p, b, PH, SP);
    return t.content.firstElementChild;
  }

  // What a post gets once it is on the page: marks, times, menu, thumbnail.
  function enhance(el, b = B) {
    if (mine(b, noOf(el))) el.classList.add('you');
    // (OP) is this post's thread's opening post; another thread's gets an arrow.
    const own = target($('.ph a.no', el) || el);
    for (const a of $$('a.quotelink', el)) {
      const tg = target(a);
      if (!tg) continue;
      const here = own && tg.b === own.b && tg.t === own.t, inText = !!$('blockquote', el)?.contains(a);
      a.classList.toggle('y', mine(tg.b, tg.no));
      a.classList.toggle('o', here && tg.no === tg.t && inText);
      a.classList.toggle('x', !here && inText);
    }
    times(el);
    for (const img of $$('img[data-w]', el)) waitThumb(img);
    const ph = $('.ph', el);
    if (ph && !$('.mb', ph)) ph.insertAdjacentHTML('beforeend', ' <button type="button" class="mb" aria-label="Post menu" title="Delete or report">▾</button>');
    return el;
  }

  // Posts of other threads, fetched once per thread as JSON.
  const threads = new Map();
  async function findPost(tg) {
    if (tg.b === B) { const el = d.getElementById('p' + tg.no); if (el) return el; }
    const key = tg.b + '/' + tg.t;
    if (!threads.has(key)) {
      threads.set(key, fetch(`/${tg.b}/thread/${tg.t}.json`).then(r => r.ok ? r.json() : { posts: [] }).catch(() => ({ posts: [] })));
    }
    const p = (await threads.get(key)).posts.find(x => x.no === tg.no);
    return p ? enhance(render(p, tg.b), tg.b) : null;
  }
  function copy(el) {
    const c = el.isConnected ? el.cloneNode(true) : el;
    c.removeAttribute('id');
    c.classList.remove('hl');
    for (const x of $$('.inl, [id]', c)) x.id ? x.removeAttribute('id') : x.remove();
    return c;
  }
  function gone(no) {
    const el = d.createElement('div');
    el.className = 'p';
    el.textContent = `Post No.${no} is not there any more.`;
    return el;
  }

  // Quote previews on hover.
  let pv = null;
  const hidePreview = () => { pv?.remove(); pv = null; for (const x of $$('.p.hl')) x.classList.remove('hl'); };
  d.addEventListener('mouseover', async e => {
    const a = e.target.closest?.('a.quotelink');
    if (!a || a.closest('.pv')) return;
    const tg = target(a);
    if (!tg) return;
    a.addEventListener('mouseout', hidePreview, { once: true });
    const el = await findPost(tg);
    if (!a.matches(':hover')) return;
    hidePreview();
    if (el?.isConnected) el.classList.add('hl');
    pv = d.createElement('div');
    pv.className = 'pv';
    pv.append(el ? copy(el) : gone(tg.no));
    body.append(pv);
    const r = a.getBoundingClientRect();
    pv.style.left = Math.max(4, Math.min(r.left, innerWidth - pv.offsetWidth - 8)) + 'px';
    let top = r.bottom + 4;
    if (top + pv.offsetHeight > innerHeight) top = Math.max(4, r.top - pv.offsetHeight - 4);
    pv.style.top = top + 'px';
  });

  // Quotes inline on click; a second click folds them away.
  async function inline(a, tg) {
    const next = a.nextElementSibling;
    hidePreview();
    if (next?.matches('.inl') && +next.dataset.no === tg.no) { next.remove(); return; }
    const el = await findPost(tg);
    const box = d.createElement('div');
    box.className = 'inl';
    box.dataset.no = tg.no;
    box.append(el ? copy(el) : gone(tg.no));
    a.after(box);
  }

  // Files inline on click: images in place of their thumbnail, videos below it.
  function expand(a) {
    const img = $('img', a);
    if (/\.(webm|mp4)$/i.test(a.pathname)) {
      const box = d.createElement('div'), v = d.createElement('video'), close = d.createElement('button');
      box.className = 'fl x';
      Object.assign(v, { src: a.href, controls: true, loop: true, autoplay: true });
      close.type = 'button';
      close.textContent = 'Close video';
      close.onclick = () => { box.remove(); a.hidden = false; };
      box.append(v, close);
      a.hidden = true;
      a.after(box);
      return;
    }
    if (a.classList.toggle('x')) {
      a.dataset.th = img.src;
      a.dataset.wh = img.getAttribute('width') + ' ' + img.getAttribute('height');
      img.removeAttribute('width');
      img.removeAttribute('height');
      img.src = a.href;
    } else {
      const [w, h] = a.dataset.wh.split(' ');
      Object.assign(img, { src: a.dataset.th, width: w, height: h });
      if (a.getBoundingClientRect().top < 0) a.scrollIntoView();
    }
  }

  // The reply form, floating as a quick reply on a thread page.
  const form = $('form.pf');
  function openQR() {
    if (!form.classList.contains('qr')) {
      form.classList.add('qr');
      if (!$('.qh', form)) {
        form.insertAdjacentHTML('afterbegin', `<div class="qh"><span>Reply to No.${T}</span><button type="button" aria-label="Close the quick reply">×</button></div>`);
        $('.qh button', form).onclick = () => form.classList.remove('qr');
      }
    }
  }
  function quote(no, post) {
    openQR();
    const ta = form.elements.com, sel = getSelection().toString().trim();
    let s = `>>${no}\n`;
    if (sel && post?.contains(getSelection().anchorNode)) s += sel.split('\n').map(l => '>' + l).join('\n') + '\n';
    const at = ta.selectionStart ?? ta.value.length;
    ta.value = ta.value.slice(0, at) + s + ta.value.slice(ta.selectionEnd ?? at);
    ta.focus();
    ta.selectionStart = ta.selectionEnd = at + s.length;
  }

  // The captcha, when the board's mode asks one of this post: asked for
  // when the form is first used (the cached page cannot carry one), and
  // again after each post, since a challenge is good once (and a refusal
  // may be the board's mode rising). Solved, the api's bypass cookie spares
  // the next posts, which then hear noop.
  function captcha(f) {
    const row = $('.cap', f);
    if (!row) return { load: async () => {}, reset() {} };
    const img = $('img', row), resp = f.elements['t-response'], ch = f.elements['t-challenge'];
    let until = 0, busy = null;
    const load = (again = false) => {
      if (!again && Date.now() < until) return Promise.resolve();
      busy ??= (async () => {
        try {
          const t = f.elements.resto?.value;
          const r = await fetch(`/captcha?board=${encodeURIComponent(B)}${t ? '&thread_id=' + t : ''}`, { cache: 'no-store' });
          const j = await r.json().catch(() => ({}));
          if (!r.ok) throw new Error(j.error || `No captcha could be had (${r.status}).`);
          until = Date.now() + Math.max(j.ttl - 10, 5) * 1000;
          resp.value = '';
          if (j.challenge === 'noop') {
            ch.value = '';
            row.hidden = true;
            resp.required = false;
            return;
          }
          ch.value = j.challenge;
          Object.assign(img, { src: 'data:image/png;base64,' + j.img, width: j.img_width, height: j.img_height });
          row.hidden = false;
          resp.required = true;
        } finally {
          busy = null;
        }
      })();
      return busy;
    };
    f.addEventListener('focusin', () => load().catch(() => {}));
    $('button', row).onclick = () => load(true).catch(() => {});
    return { load, reset() { until = 0; } };
  }

  // Posting through fetch: errors show in the form, the page stays.
  for (const f of $$('form.pf')) {
    setPassword(f);
    const cap = captcha(f);
    f.addEventListener('submit', async e => {
      e.preventDefault();
      const btn = $('[type=submit]', f), err = $('.err', f);
      btn.disabled = true;
      err.hidden = true;
      try {
        await cap.load();
        const resp = f.elements['t-response'];
        if (resp?.required && !resp.value.trim()) {
          resp.focus();
          throw new Error('Type the characters of the captcha.');
        }
        const r = await fetch(f.action, { method: 'POST', body: new FormData(f), headers: { Accept: 'application/json' } });
        const j = await r.json().catch(() => ({}));
        // Used, right or wrong: the next post needs a new one, or none.
        cap.reset();
        if (!r.ok) {
          await cap.load().catch(() => {});
          throw new Error(j.error || `The post was not accepted (${r.status}).`);
        }
        if (j.held) { // a new poster's post, shown once a moderator approves it
          f.reset();
          setPassword(f);
          err.textContent = `Your post No.${j.no} awaits a moderator's review; it appears once approved.`;
          err.hidden = false;
          return;
        }
        addOwn(j.board, j.no);
        markOwn(j.no);
        if (j.thread !== T) { location.href = `/${j.board}/thread/${j.thread}#p${j.no}`; return; }
        f.reset();
        setPassword(f);
        f.classList.remove('qr');
        await sync();
        d.getElementById('p' + j.no)?.scrollIntoView({ block: 'nearest' });
      } catch (x) {
        err.textContent = x instanceof TypeError ? 'The site could not be reached; please try again.' : x.message;
        err.hidden = false;
      } finally {
        btn.disabled = false;
      }
    });
  }
  const dpwd = $('#d-pwd');
  if (dpwd) dpwd.value = password();

  // Delete (your own) or report a post, from its menu.
  async function send(path, fields) {
    const fd = new FormData();
    for (const k in fields) fd.append(k, fields[k]);
    const r = await fetch(path, { method: 'POST', body: fd, headers: { Accept: 'application/json' } });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.error || `Refused (${r.status}).`);
  }
  let menu = null;
  function postMenu(btn) {
    menu?.remove();
    const post = btn.closest('.p'), no = noOf(post);
    menu = d.createElement('div');
    menu.className = 'menu';
    menu.innerHTML = '<button type="button" data-a="d">Delete</button><button type="button" data-a="r">Report</button>';
    const r = btn.getBoundingClientRect();
    Object.assign(menu.style, { left: scrollX + r.left + 'px', top: scrollY + r.bottom + 'px' });
    menu.onclick = async e => {
      const act = e.target.dataset.a;
      menu.remove();
      try {
        if (act === 'd' && confirm(`Delete post No.${no}?`)) {
          await send(`/${B}/delete`, { no, pwd: password() });
          post.classList.add('del');
        } else if (act === 'r') {
          const reason = prompt(`Why should the moderators look at No.${no}?`);
          if (reason !== null) { await send(`/${B}/report`, { no, reason }); alert('Reported. Thank you.'); }
        }
      } catch (x) { alert(x.message); }
    };
    body.append(menu);
  }

  d.addEventListener('click', e => {
    if (menu && !menu.contains(e.target)) { menu.remove(); menu = null; }
    if (e.button || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    const btn = e.target.closest('.mb');
    if (btn) { postMenu(btn); return; }
    const a = e.target.closest('a');
    if (!a || a.closest('.pv')) return;
    if (a.matches('.quotelink')) {
      const tg = target(a);
      if (tg) { e.preventDefault(); inline(a, tg); }
    } else if (a.matches('.fl')) {
      e.preventDefault();
      expand(a);
    } else if (a.matches('.no') && !a.closest('.inl')) {
      const post = a.closest('.p'), tg = target(a);
      if (!tg) return;
      e.preventDefault();
      if (T && form && tg.t === T && !form.closest('[hidden]')) quote(tg.no, post);
      else location.href = `/${tg.b}/thread/${tg.t}#q${tg.no}`;
    }
  });

  // Unread posts count in the tab's title until they have been on screen.
  const unread = new Set(), title = d.title;
  function seen() {
    if (!d.hidden) for (const el of unread) if (el.getBoundingClientRect().top < innerHeight) unread.delete(el);
    d.title = unread.size ? `(${unread.size}) ${title}` : title;
  }
  let ticking = false;
  addEventListener('scroll', () => { if (!ticking) { ticking = true; requestAnimationFrame(() => { ticking = false; seen(); }); } }, { passive: true });
  d.addEventListener('visibilitychange', seen);

  // A thread's posts: new ones in their place, with backlinks on the posts they quote.
  const art = T ? d.getElementById('t' + T) : null;
  function addPost(p) {
    if (!art || d.getElementById('p' + p.no)) return;
    // The thread's stats count it.
    const st = s => $(`#stats b[data-s="${s}"]`);
    if (st('r') && p.resto) st('r').textContent = +st('r').textContent + 1;
    if (st('i') && p.resto && p.ext) st('i').textContent = +st('i').textContent + 1 + (p.extra_files || []).length;
    const el = enhance(render(p, B));
    let next = null;
    for (const x of art.children) if (noOf(x) > p.no) { next = x; break; }
    art.insertBefore(el, next);
    for (const a of $$('blockquote a.quotelink', el)) {
      const tg = target(a), to = tg && tg.b === B && tg.t === T && d.getElementById('p' + tg.no);
      const href = `/${B}/thread/${T}#p${p.no}`;
      if (!to || to === el || $(`.bl a[href="${href}"]`, to)) continue;
      let bl = $(':scope > .bl', to);
      if (!bl) { bl = d.createElement('div'); bl.className = 'bl'; to.append(bl); }
      bl.insertAdjacentHTML('beforeend', `<a href="${href}" class="quotelink${mine(B, p.no) ? ' y' : ''}">&gt;&gt;${p.no}</a> `);
    }
    if (!mine(B, p.no)) unread.add(el);
    seen();
  }
  // markOwn marks a post of yours that the stream may have shown before
  // the answer to your post came.
  function markOwn(no) {
    const el = d.getElementById('p' + no);
    if (el) { el.classList.add('you'); unread.delete(el); seen(); }
    for (const a of $$(`a.quotelink[href$="#p${no}"]`)) if (target(a)?.b === B) a.classList.add('y');
  }
  function setClosed(closed) {
    const rp = $('.rp');
    if (rp) rp.hidden = closed;
    if (closed && !$('.lock')) rp?.insertAdjacentHTML('beforebegin', '<p class="lock">This thread is closed: it takes no more replies.</p>');
    if (!closed) $('.lock')?.remove();
  }
  // sync brings the thread up to date from its JSON: after a gap in the
  // stream, or when the stream says its history is gone.
  async function sync() {
    if (!art) return;
    try {
      const r = await fetch(`/${B}/thread/${T}.json`, { cache: 'no-cache' });
      if (!r.ok) return;
      const posts = (await r.json()).posts, have = new Set(posts.map(p => p.no));
      for (const p of posts) addPost(p);
      for (const el of art.children) if (!have.has(noOf(el))) el.classList.add('del');
      setClosed(!!posts[0].closed || !!posts[0].archived);
    } catch { /* the next event or sync catches up */ }
  }

  // Event streams, reopened after they end for good; EventSource itself
  // resumes a dropped one with Last-Event-ID.
  function live(path, on) {
    let es, wait = 1000;
    const open = () => {
      es = new EventSource(path);
      // data-live says whether the stream is up (tests wait for it).
      es.onopen = () => { wait = 1000; body.dataset.live = 'on'; on.open?.(); };
      es.onerror = () => {
        body.dataset.live = 'off';
        if (es.readyState !== EventSource.CLOSED) return;
        setTimeout(open, wait);
        wait = Math.min(wait * 2, 30000);
      };
      for (const k in on) if (k !== 'open') es.addEventListener(k, e => { try { on[k](JSON.parse(e.data)); } catch { /* a bad event is skipped */ } });
    };
    open();
  }

  for (const el of $$('.p')) enhance(el);
  for (const img of $$('.c img[data-w]')) waitThumb(img);
  setInterval(() => times(d), 60000);

  if (K === 'thread' && art) {
    live(`/live/${B}/${T}`, {
      open: sync, // covers what was posted between the page and the stream
      post: addPost,
      delete: x => d.getElementById('p' + x.no)?.classList.add('del'),
      update: x => { if (x.no === T) setClosed(x.closed); },
      reload: sync,
    });
    const q = location.hash.match(/^#q(\d+)$/);
    if (q && form && !form.closest('[hidden]')) {
      const post = d.getElementById('p' + q[1]);
      post?.scrollIntoView();
      quote(+q[1], post);
    }
  } else if ((K === 'index' || K === 'catalog') && B) {
    // A button above the page that reloads it: the reader decides when.
    let n = 0, stale = false, note = null;
    const show = () => {
      if (!note) {
        note = d.createElement('button');
        note.type = 'button';
        note.className = 'ntc';
        note.onclick = () => location.reload();
        $('main').before(note);
      }
      note.textContent = stale ? 'This page is out of date: reload' : `${n} new thread${n > 1 ? 's' : ''}: show`;
    };
    live(`/live/${B}`, {
      thread: () => { n++; show(); },
      // What the stream missed is not kept: only a reload shows it.
      reload: () => { stale = true; show(); },
    });
  }
})();
