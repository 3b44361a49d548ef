"""Writes tests/train_extras/train_extras.golden from PyTorch 1.13.

Run from the repository root with Debian's Python, which has torch:

    /usr/bin/python3 tests/train_extras/make_goldens.py

Format (text): '#' lines are comments; 'case NAME' starts a case; every other
line is 'KEY COUNT V1 V2 ...' with the values written by repr() of a Python
float, so they read back exactly. Inputs are f32 values (rounded before use),
references are computed in float64.
"""

import math
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   'train_extras.golden')


def f32(t):
    """Rounds to f32 and back to f64, so the C++ side sees the same input."""
    return t.to(torch.float32).to(torch.float64)


def line(key, values):
    values = [float(v) for v in values]
    return '%s %d %s' % (key, len(values), ' '.join(repr(v) for v in values))


def lr_trace(make_scheduler, base_lr, steps):
    """The lr of each of `steps` optimizer steps (step k = 0, 1, ...)."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return lrs


def schedule_cases():
    out = []
    # OneCycleLR's defaults but for a short cycle.
    for name, total, pct, div, final_div in [
            ('one_cycle_default', 100, 0.3, 25.0, 1e4),
            ('one_cycle_short', 37, 0.25, 10.0, 100.0)]:
        max_lr = 0.01
        lrs = lr_trace(
            lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o, max_lr=max_lr, total_steps=total, pct_start=pct,
                div_factor=div, final_div_factor=final_div,
                anneal_strategy='cos', cycle_momentum=False,
                three_phase=False), max_lr, total)
        out += ['case ' + name,
                line('params', [max_lr, total, pct, div, final_div]),
                line('lr', lrs)]
    base, t_max, eta_min = 0.1, 50, 1e-4
    lrs = lr_trace(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
            o, T_max=t_max, eta_min=eta_min), base, t_max + 1)
    out += ['case cosine_annealing',
            line('params', [base, t_max, eta_min]),
            line('lr', lrs)]
    base, step_size, gamma = 0.1, 7, 0.5
    lrs = lr_trace(
        lambda o: torch.optim.lr_scheduler.StepLR(
            o, step_size=step_size, gamma=gamma), base, 40)
    out += ['case step_lr',
            line('params', [base, step_size, gamma]),
            line('lr', lrs)]
    return out


def adamw_case():
    """torch.optim.AdamW with its eps set each step so that it adds eps to
    sqrt(v) as nabla's Adam does (eps_torch = eps / sqrt(1 - beta2^t))."""
    g = torch.Generator().manual_seed(1213)
    shape = (3, 4)
    lr, wd, beta1, beta2, eps, steps = 0.01, 0.1, 0.9, 0.999, 1e-7, 6
    w0 = f32(torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)
    grads = [f32(torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)
             for _ in range(steps)]
    w = torch.nn.Parameter(w0.clone())
    opt = torch.optim.AdamW([w], lr=lr, betas=(beta1, beta2), eps=eps,
                            weight_decay=wd)
    out = ['case adamw',
           line('params', [lr, wd, beta1, beta2, eps, steps]),
           line('w0', w0.flatten())]
    for t in range(1, steps + 1):
        opt.param_groups[0]['eps'] = eps / math.sqrt(1 - beta2 ** t)
        w.grad = grads[t - 1].clone()
        opt.step()
        out.append(line('grad%d' % t, grads[t - 1].flatten()))
        out.append(line('w%d' % t, w.detach().flatten()))
    return out


def adamw_one_cycle_case():
    """AdamW under OneCycleLR with cycle_momentum: the rate, beta1 and the
    variable at each step (eps adjusted per step as in adamw_case)."""
    g = torch.Generator().manual_seed(4242)
    shape = (2, 3)
    max_lr, total, pct, div, final_div = 0.05, 10, 0.3, 25.0, 1e4
    base_m, max_m, beta2, wd, eps = 0.85, 0.95, 0.999, 0.05, 1e-7
    w0 = f32(torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)
    w = torch.nn.Parameter(w0.clone())
    opt = torch.optim.AdamW([w], lr=max_lr, betas=(0.9, beta2), eps=eps,
                            weight_decay=wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total, pct_start=pct,
        div_factor=div, final_div_factor=final_div, anneal_strategy='cos',
        cycle_momentum=True, base_momentum=base_m, max_momentum=max_m,
        three_phase=False)
    out = ['case adamw_one_cycle',
           line('params', [max_lr, total, pct, div, final_div, base_m, max_m,
                           beta2, wd, eps]),
           line('w0', w0.flatten())]
    lrs, betas = [], []
    for t in range(1, total + 1):
        grad = f32(torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1)
        lrs.append(opt.param_groups[0]['lr'])
        betas.append(opt.param_groups[0]['betas'][0])
        opt.param_groups[0]['eps'] = eps / math.sqrt(1 - beta2 ** t)
        w.grad = grad.clone()
        opt.step()
        sched.step()
        out.append(line('grad%d' % t, grad.flatten()))
        out.append(line('w%d' % t, w.detach().flatten()))
    out += [line('lr', lrs), line('beta1', betas)]
    return out


def label_smoothing_cases():
    out = []
    for name, smoothing, reduction, soft in [
            ('ls_index_mean', 0.1, 'mean', False),
            ('ls_index_sum', 0.2, 'sum', False),
            ('ls_probs_mean', 0.15, 'mean', True)]:
        g = torch.Generator().manual_seed(len(name) * 7919 + 17)
        n, k = 6, 5
        logits = f32((torch.rand((n, k), generator=g, dtype=torch.float64)
                      * 6 - 3))
        if soft:
            raw = torch.rand((n, k), generator=g, dtype=torch.float64)
            target = f32(raw / raw.sum(dim=1, keepdim=True))
        else:
            target = torch.randint(0, k, (n,), generator=g)
        x = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(x, target, reduction=reduction,
                               label_smoothing=smoothing)
        loss.backward()
        out += ['case ' + name,
                line('params', [smoothing, 1 if reduction == 'sum' else 0,
                                1 if soft else 0, n, k]),
                line('logits', logits.flatten()),
                line('labels', target.flatten().to(torch.float64)),
                line('loss', [loss.item()]),
                line('dlogits', x.grad.flatten())]
    return out


def main():
    lines = ['# Generated by /usr/bin/python3 tests/train_extras/make_goldens.py;',
             '# do not edit. torch %s, float64 references.' % torch.__version__]
    lines += (schedule_cases() + adamw_case() + adamw_one_cycle_case() +
              label_smoothing_cases())
    with open(OUT, 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
