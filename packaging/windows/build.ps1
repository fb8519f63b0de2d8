<#
.SYNOPSIS
  Build the Windows installer: dist\desktop-oms-<version>-windows-x64-setup.exe

.DESCRIPTION
  1. a build-only venv (runtime dependencies + PyInstaller): uv sync --no-default-groups --group build
  2. PyInstaller one-folder build from packaging\desktop_oms.spec (shared with Linux):
     desktop-oms.exe (windowed, for the Start menu) and desktop-oms-cli.exe (console)
  3. checks of the frozen app: --version, the packaging check, --smoke (Qt offscreen)
  4. Inno Setup (ISCC.exe) with packaging\windows\desktop-oms.iss

  Needs uv and Inno Setup 6 (choco install innosetup, or winget install JRSoftware.InnoSetup).
  The version comes from pyproject.toml only.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
.EXAMPLE
  pwsh packaging\windows\build.ps1 -NoCheck -Iscc "D:\Tools\Inno Setup 6\ISCC.exe"
#>
[CmdletBinding()]
param(
    [switch] $NoCheck,
    [string] $Iscc = ""
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
$Build = if ($env:DESKTOP_OMS_BUILD_DIR) { $env:DESKTOP_OMS_BUILD_DIR } else { Join-Path $Root "build\windows" }
$Dist = Join-Path $Root "dist"
$Started = Get-Date
Set-Location $Root

function Step([string] $Text) { Write-Host "`n==> $Text" }
function Invoke-Windowed([string] $Exe, [string[]] $Arguments, [int] $TimeoutSeconds = 300) {
    # A GUI-subsystem exe: Start-Process, wait with a time limit, return the exit code.
    $proc = Start-Process -FilePath $Exe -ArgumentList $Arguments -PassThru
    $null = $proc.Handle  # keeps the process handle, so ExitCode is there after the exit
    if (-not $proc.WaitForExit($TimeoutSeconds * 1000)) {
        $proc.Kill()
        throw "$Exe $($Arguments -join ' ') did not finish within ${TimeoutSeconds}s"
    }
    return $proc.ExitCode
}
function Invoke-Checked([string] $Exe, [string[]] $Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# ------------------------------------------------------------------ build environment
$env:UV_PROJECT_ENVIRONMENT = Join-Path $Build "venv"
Step "build venv $env:UV_PROJECT_ENVIRONMENT (runtime dependencies + PyInstaller)"
Invoke-Checked "uv" @("sync", "--no-default-groups", "--group", "build", "--quiet")
$Py = Join-Path $env:UV_PROJECT_ENVIRONMENT "Scripts\python.exe"
$Version = (& $Py -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])").Trim()
if ($LASTEXITCODE -ne 0 -or -not $Version) { throw "could not read the version from pyproject.toml" }
# Inno Setup's VersionInfoVersion wants four numbers: 1.2.3rc1 -> 1.2.3.0
$Numbers = @([regex]::Matches(($Version -split '[^0-9.]')[0], '\d+') | ForEach-Object { $_.Value })
$NumericVersion = (@($Numbers + @("0", "0", "0", "0"))[0..3]) -join "."
& $Py -c "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) for m in ('PyQt5', 'PyQt6', 'PySide2')))"
if ($LASTEXITCODE -ne 0) { throw "the build venv must hold PySide6-Essentials and no other Qt binding" }
Write-Host "desktop-oms $Version ($NumericVersion)"

# ------------------------------------------------------------------ freeze
Step "PyInstaller (one-folder)"
$PyiStarted = Get-Date
Invoke-Checked "uv" @("run", "--no-sync", "pyinstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", (Join-Path $Build "pyinstaller\dist"), "--workpath", (Join-Path $Build "pyinstaller\work"),
    "packaging\desktop_oms.spec")
$App = Join-Path $Build "pyinstaller\dist\desktop-oms"
$Gui = Join-Path $App "desktop-oms.exe"
$Cli = Join-Path $App "desktop-oms-cli.exe"
foreach ($exe in @($Gui, $Cli)) { if (-not (Test-Path $exe)) { throw "PyInstaller produced no $exe" } }
Write-Host ("PyInstaller took {0:N0}s" -f ((Get-Date) - $PyiStarted).TotalSeconds)

# ------------------------------------------------------------------ check the frozen app
if (-not $NoCheck) {
    Step "frozen app: --version, packaging check, --smoke (offscreen)"
    $got = (& $Cli --version | Out-String).Trim()
    if ($got -ne "desktop-oms $Version") { throw "--version printed '$got', expected 'desktop-oms $Version'" }
    Write-Host $got
    $env:QT_QPA_PLATFORM = "offscreen"
    try {
        $env:DESKTOP_OMS_PACKAGING_CHECK = "1"
        Invoke-Checked $Cli @()
        Remove-Item Env:DESKTOP_OMS_PACKAGING_CHECK
        Invoke-Checked $Cli @("--smoke")
        # The windowed exe has no console to print to: its exit code tells.
        $code = Invoke-Windowed $Gui @("--smoke")
        if ($code -ne 0) { throw "desktop-oms.exe --smoke exited with $code" }
        Write-Host "desktop-oms.exe --smoke: exit 0"
    } finally {
        Remove-Item Env:QT_QPA_PLATFORM -ErrorAction SilentlyContinue
        Remove-Item Env:DESKTOP_OMS_PACKAGING_CHECK -ErrorAction SilentlyContinue
    }
}

# ------------------------------------------------------------------ installer
Step "Inno Setup"
if (-not $Iscc) {
    $candidates = @(
        $env:ISCC,
        (Get-Command "iscc.exe" -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Source -First 1),
        (Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:ProgramFiles "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:LOCALAPPDATA "Programs\Inno Setup 6\ISCC.exe")
    )
    $Iscc = $candidates | Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
}
if (-not $Iscc) { throw "ISCC.exe (Inno Setup 6) not found: choco install innosetup, or pass -Iscc <path>" }
New-Item -ItemType Directory -Force -Path $Dist | Out-Null
Invoke-Checked $Iscc @("/Qp", "/DAppVersion=$Version", "/DAppNumericVersion=$NumericVersion",
    "/DSourceDir=$App", "/DOutputDir=$Dist", (Join-Path $Root "packaging\windows\desktop-oms.iss"))
$Setup = Join-Path $Dist "desktop-oms-$Version-windows-x64-setup.exe"
if (-not (Test-Path $Setup)) { throw "Inno Setup produced no $Setup" }

# ------------------------------------------------------------------ report
$appBytes = (Get-ChildItem -Recurse -File $App | Measure-Object -Sum Length).Sum
Step ("done in {0:N0}s" -f ((Get-Date) - $Started).TotalSeconds)
Write-Host ("  installed size            {0:N0} MiB" -f ($appBytes / 1MB))
Write-Host ("  {0}  {1:N0} MiB" -f (Split-Path -Leaf $Setup), ((Get-Item $Setup).Length / 1MB))
