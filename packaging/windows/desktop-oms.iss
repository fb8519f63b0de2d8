; Inno Setup 6 script for Desktop OMS: a per-user installer (no admin rights needed).
;
; Built by packaging\windows\build.ps1, which passes the version read from pyproject.toml:
;   ISCC.exe /DAppVersion=X.Y.Z /DAppNumericVersion=X.Y.Z.0 ^
;            /DSourceDir=<...>\build\windows\pyinstaller\dist\desktop-oms ^
;            /DOutputDir=<...>\dist packaging\windows\desktop-oms.iss
;
; Installs to %LOCALAPPDATA%\Programs\Desktop OMS with a Start-menu shortcut and an
; uninstaller (Settings > Apps). Installing a newer version over an older one upgrades in
; place: same AppId, same folder, the old program files replaced. The trader's data
; (database, settings, logs) lives in %LOCALAPPDATA%\desktop-oms (platformdirs), never in
; the program folder, so upgrades and uninstalls leave it alone.

#define AppName "Desktop OMS"
#define AppExe "desktop-oms.exe"
#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=x.y.z (build.ps1 reads it from pyproject.toml)
#endif
#ifndef AppNumericVersion
  #define AppNumericVersion "0.0.0.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\pyinstaller\dist\desktop-oms"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
; The AppId identifies the product across versions: never change it, or upgrades turn
; into side-by-side installs.
AppId={{AD4B73CA-7BD6-4AE8-8167-AB52B81A4F4A}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Desktop OMS
VersionInfoVersion={#AppNumericVersion}
VersionInfoProductVersion={#AppNumericVersion}
VersionInfoDescription={#AppName} installer
; Per user: no UAC prompt; {autopf} is then %LOCALAPPDATA%\Programs.
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
UsePreviousAppDir=yes
; Qt 6 needs 64-bit Windows 10 or later.
MinVersion=10.0
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=desktop-oms-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\desktop-oms.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; An upgrade asks a running Desktop OMS to close first (its DLLs are in use). The trader
; decides; a silent upgrade (/SILENT) closes it the same way the window's close button does.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; Upgrade in place: drop the previous version's runtime first, so no stale module or DLL
; from an older build is left next to the new one. Only the program folder is touched.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Comment: "Order entry and order management for Zerodha Kite"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete]: the uninstaller removes exactly what it installed. The data folder
; %LOCALAPPDATA%\desktop-oms (orders journal, settings, logs) is deliberately kept; delete it
; by hand to start afresh. Kite secrets are in Windows Credential Manager ("desktop-oms").
