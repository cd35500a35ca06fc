// Copy buttons ([data-copy]) in static and interactive pages alike: one listener on the document.
document.addEventListener('click', async (event) => {
    const button = event.target.closest('[data-copy]');
    if (!button) return;
    const label = button.textContent;
    try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = 'Copied';
    } catch {
        // No clipboard (an insecure origin): select the text beside the button so Ctrl+C works.
        const code = button.previousElementSibling;
        if (code) window.getSelection().selectAllChildren(code);
        button.textContent = 'Press Ctrl+C';
    }
    setTimeout(() => { button.textContent = label; }, 1500);
});
