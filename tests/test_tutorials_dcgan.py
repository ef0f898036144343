"""PyTorch's DCGAN tutorial replayed with gpugrad in place of torch (small sizes, seeded
random "images"): ``weights_init`` through ``netG.apply`` with ``classname.find('Conv')``
and ``nn.init.normal_(m.weight.data, ...)``, ``ConvTranspose2d``/``BatchNorm2d``/
``LeakyReLU(inplace=True)`` stacks, ``BCELoss``, ``label.fill_``, ``fake.detach()`` and the
two Adam optimizers, printing the tutorial's progress line. Both libraries start from the
same weights and must print the same."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tutorial_replay import assert_same_output, replay

pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("torch_on_one_thread")

nz, ngf, ndf, nc = 8, 4, 4, 3


def dcgan_program(torch, device):  # noqa: C901 - the tutorial's cells, in order
    nn = torch.nn
    optim = torch.optim

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    class Generator(nn.Module):
        def __init__(self, ngpu):
            super(Generator, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

        def forward(self, input):
            return self.main(input)

    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super(Discriminator, self).__init__()  # noqa: UP008 - the tutorial's spelling
            self.ngpu = ngpu
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )

        def forward(self, input):
            return self.main(input)

    netG = Generator(0).to(device)
    netG.apply(weights_init)
    print(netG)
    netD = Discriminator(0).to(device)
    netD.apply(weights_init)
    print(netD)
    rng = np.random.default_rng(0)

    def array(values):
        return torch.from_numpy(values.astype(np.float32)).to(device)

    with torch.no_grad():
        for model in (netG, netD):
            for p in model.parameters():
                p.copy_(array(rng.standard_normal(tuple(p.shape)) * 0.1))
    criterion = nn.BCELoss()
    fixed_noise = array(rng.standard_normal((4, nz, 1, 1)))
    real_label = 1.0
    fake_label = 0.0
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    real_cpu = array(rng.uniform(-1, 1, (4, 3, 16, 16)))
    G_losses = []
    D_losses = []
    for i in range(4):
        netD.zero_grad()
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        noise = array(rng.standard_normal((b_size, nz, 1, 1)))
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        print(
            "[%d/%d][%d/%d]\tLoss_D: %.4f\tLoss_G: %.4f\tD(x): %.4f\tD(G(z)): %.4f / %.4f"  # noqa: UP031
            % (0, 1, i, 4, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2)
        )
        G_losses.append(errG.item())
        D_losses.append(errD.item())
    with torch.no_grad():
        fake = netG(fixed_noise).detach().cpu()
    print(fake.shape, fake[0, 0, 0, :4], netD.main[3].running_mean)


def test_dcgan(device, capsys):
    assert_same_output(*replay(dcgan_program, device, capsys))
